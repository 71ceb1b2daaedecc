/**
 * Text contrast of the stylesheet's colour pairs, light and dark, against WCAG 2.1's 4.5:1 for
 * normal text. The ratio is WCAG's definition (relative luminance of sRGB), written here from the spec.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const css = fs.readFileSync(path.join(__dirname, "../src/styles.css"), "utf8");

/** The custom properties of the first `:root { … }` after `from` in the stylesheet. */
function variables(from: number): Record<string, string> {
  const start = css.indexOf(":root {", from);
  const body = css.slice(start, css.indexOf("}", start));
  return Object.fromEntries([...body.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2].toLowerCase()]));
}
const light = variables(0);
const dark = { ...light, ...variables(css.indexOf("@media (prefers-color-scheme: dark)")) };

/** WCAG 2.1 relative luminance of a #rrggbb (or #rgb) colour. */
function luminance(color: string): number {
  const hex = color.length === 4 ? `#${[...color.slice(1)].map((c) => c + c).join("")}` : color;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function ratio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** A rule's declared value of `property`, with `var(--x)` resolved in `theme`. */
function declared(selector: string, property: string, theme: Record<string, string>): string {
  const start = css.indexOf(`${selector} {`);
  expect(start, `${selector} in styles.css`).toBeGreaterThanOrEqual(0);
  const body = css.slice(start, css.indexOf("}", start));
  const value = new RegExp(`(?:^|[\\s;])${property}:\\s*([^;]+);`).exec(body)![1].trim();
  const v = /^var\(--([\w-]+)\)$/.exec(value);
  return v ? theme[v[1]] : value.toLowerCase();
}

describe("colour contrast (WCAG AA, 4.5:1)", () => {
  it("computes WCAG's known ratios", () => {
    expect(ratio("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(ratio("#777777", "#fff")).toBeCloseTo(4.48, 2);
  });

  for (const [name, theme] of [
    ["light", light],
    ["dark", dark],
  ] as const) {
    it(`keeps stat labels, hints and body text readable in the ${name} theme`, () => {
      const label = declared(".stat dt", "color", theme);
      expect(ratio(label, declared(".stat", "background", theme))).toBeGreaterThanOrEqual(4.5);
      // Stats inside cards sit on the page background.
      expect(ratio(label, declared(".card .stat", "background", theme))).toBeGreaterThanOrEqual(4.5);
      expect(ratio(theme.muted, theme.card)).toBeGreaterThanOrEqual(4.5);
      expect(ratio(theme.fg, theme.bg)).toBeGreaterThanOrEqual(4.5);
      expect(ratio(theme.error, theme.bg)).toBeGreaterThanOrEqual(4.5);
    });

    it(`keeps proposal state badges readable in the ${name} theme`, () => {
      for (const selector of [".state-active,\n.state-succeeded,\n.state-executed", ".state-defeated,\n.state-canceled,\n.state-expired"]) {
        const ratioOf = ratio(declared(selector, "color", theme), declared(selector, "background", theme));
        expect(ratioOf, selector).toBeGreaterThanOrEqual(4.5);
      }
    });
  }
});
