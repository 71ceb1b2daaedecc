import { useId } from "react";

/**
 * A labelled text input that shows `error` (from the caller's parse of `value`) under it and marks
 * itself invalid for screen readers. An empty value shows no error: the submit stays disabled.
 */
export function TextField({
  label,
  value,
  onChange,
  error,
  placeholder,
  inputMode,
  testId,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  placeholder?: string;
  inputMode?: "text" | "numeric";
  testId?: string;
}) {
  const id = useId();
  const shown = value === "" ? undefined : error;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        autoComplete="off"
        spellCheck={false}
        inputMode={inputMode}
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={!!shown}
        aria-describedby={shown ? `${id}-err` : undefined}
        data-testid={testId}
      />
      {shown && (
        <small id={`${id}-err`} className="error">
          {shown}
        </small>
      )}
    </div>
  );
}
