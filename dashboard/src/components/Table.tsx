import type { ReactNode } from "react";

/**
 * A column header: its visible text, or, for a column of buttons that needs no visible
 * header, only a name for screen readers (`{ ariaLabel: "Actions" }`).
 */
export type Column = string | { ariaLabel: string };

/**
 * A list as a table that scrolls sideways on narrow screens: one `<th scope="col">` per column,
 * then `children(row)` for each row. The caller renders the whole `<tr>` (its key, test id,
 * `aria-current`, a `<th scope="row">` where a cell names the row), since those differ by list.
 * With `empty`, an empty list is said in words instead of drawn as a table with no rows.
 */
export function Table<T>({
  label,
  columns,
  rows,
  empty,
  testId,
  children,
}: {
  /** Names the scroll area for screen readers; it is focusable so keyboards can scroll a table wider than the screen. */
  label?: string;
  columns: readonly Column[];
  rows: readonly T[];
  empty?: ReactNode;
  testId?: string;
  children: (row: T) => ReactNode;
}) {
  if (rows.length === 0 && empty !== undefined) return <p className="empty">{empty}</p>;
  return (
    <div
      className="table-scroll"
      tabIndex={0}
      role="region"
      aria-label={label ?? (typeof columns[0] === "string" ? `Table of ${columns[0].toLowerCase()}` : "Table")}
    >
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c, i) =>
              typeof c === "string" ? (
                <th key={i} scope="col">
                  {c}
                </th>
              ) : (
                <th key={i} scope="col" aria-label={c.ariaLabel} />
              ),
            )}
          </tr>
        </thead>
        <tbody>{rows.map((row) => children(row))}</tbody>
      </table>
    </div>
  );
}
