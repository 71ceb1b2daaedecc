import { useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";

/** One tab: its button label and the panel it shows (rendered only while selected, so its reads run then). */
export interface Tab {
  label: string;
  panel: () => ReactNode;
}

/**
 * Tabs as WAI-ARIA's pattern has them: a tablist whose arrow keys, Home and End move the
 * selection and the focus, one tab stop for the list, and the selected tab's panel labelled by it.
 */
export function Tabs({ label, tabs }: { label: string; tabs: readonly Tab[] }) {
  const [selected, setSelected] = useState(0);
  const id = useId();
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent) => {
    const next = { ArrowLeft: selected - 1, ArrowRight: selected + 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const wrapped = (next + tabs.length) % tabs.length;
    setSelected(wrapped);
    buttons.current[wrapped]?.focus();
  };
  return (
    <div className="tabs">
      <div role="tablist" aria-label={label} onKeyDown={onKey}>
        {tabs.map((t, i) => (
          <button
            key={t.label}
            ref={(b) => void (buttons.current[i] = b)}
            type="button"
            role="tab"
            id={`${id}-tab-${i}`}
            aria-selected={i === selected}
            aria-controls={`${id}-panel`}
            tabIndex={i === selected ? 0 : -1}
            onClick={() => setSelected(i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${selected}`}>
        {tabs[selected].panel()}
      </div>
    </div>
  );
}
