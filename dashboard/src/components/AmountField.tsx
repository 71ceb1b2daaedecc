import { useId } from "react";
import { parseAmount, AmountError, formatAmount } from "../lib/format";

/** The parse of an amount input: wei, or the reason it is not an amount. */
export function readAmount(text: string, decimals = 18): { value?: bigint; error?: string } {
  try {
    return { value: parseAmount(text, decimals) };
  } catch (err) {
    return { error: err instanceof AmountError ? err.message : String(err) };
  }
}

/**
 * A labelled amount input with an optional "Max" that fills in the available balance. `check`
 * adds the caller's rule on a parsed amount (a minimum, say): it returns the reason to refuse it.
 */
export function AmountField({
  label,
  value,
  onChange,
  max,
  symbol = "FLK",
  decimals = 18,
  check,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  max?: bigint;
  symbol?: string;
  /** The token's decimals (USDC: 6). */
  decimals?: number;
  check?: (amount: bigint) => string | undefined;
}) {
  const id = useId();
  const parsed = value === "" ? {} : readAmount(value, decimals);
  const error = parsed.error ?? (parsed.value !== undefined ? check?.(parsed.value) : undefined);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="input-row">
        <input
          id={id}
          inputMode="decimal"
          autoComplete="off"
          placeholder="0.0"
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={!!error}
          aria-describedby={error ? `${id}-err` : undefined}
        />
        <span className="unit">{symbol}</span>
        {max !== undefined && (
          <button type="button" onClick={() => onChange(formatAmount(max, decimals, decimals).replace(/,/g, ""))}>
            Max
          </button>
        )}
      </div>
      {error && (
        <small id={`${id}-err`} className="error">
          {error}
        </small>
      )}
    </div>
  );
}
