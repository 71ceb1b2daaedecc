import { useEffect, useState } from "react";

/**
 * Copies `value` to the clipboard and says so for two seconds; says why when the browser refuses
 * (no clipboard on an insecure origin, or permission denied), so the user can copy by hand.
 */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [result, setResult] = useState<"copied" | "refused" | undefined>();
  useEffect(() => {
    if (!result) return;
    const timer = setTimeout(() => setResult(undefined), 2000);
    return () => clearTimeout(timer);
  }, [result]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setResult("copied");
    } catch {
      setResult("refused");
    }
  };
  return (
    <button type="button" className="link-button" aria-label={label} title={value} onClick={() => void copy()}>
      {result === "copied" ? "Copied" : result === "refused" ? "Copy refused by the browser" : "Copy"}
    </button>
  );
}
