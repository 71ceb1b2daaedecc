import { useId } from "react";

/**
 * A labelled text input that shows `error` (from the caller's parse of `value`) under it and marks
 * itself invalid for screen readers. An empty value shows no error: the submit stays disabled.
 * `multiline` makes it a text area, for pasted documents such as a registration proof.
 */
export function TextField({
  label,
  value,
  onChange,
  error,
  placeholder,
  inputMode,
  testId,
  multiline,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  placeholder?: string;
  inputMode?: "text" | "numeric" | "decimal";
  testId?: string;
  multiline?: boolean;
}) {
  const id = useId();
  const shown = value === "" ? undefined : error;
  const props = {
    id,
    autoComplete: "off",
    spellCheck: false,
    placeholder,
    value,
    "aria-invalid": !!shown,
    "aria-describedby": shown ? `${id}-err` : undefined,
    "data-testid": testId,
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea rows={6} {...props} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input inputMode={inputMode} {...props} onChange={(e) => onChange(e.target.value)} />
      )}
      {shown && (
        <small id={`${id}-err`} className="error">
          {shown}
        </small>
      )}
    </div>
  );
}
