/**
 * Colour arithmetic (pure, no DOM): WCAG luminance contrast (text, status colours) and CIELAB
 * colour difference ΔE (heatmap patches against the page: a sequential scale spans the whole
 * luminance range, so luminance alone cannot tell saturated yellow from white; ΔE can). The
 * palettes in theme.ts are chosen with it, and the browser tests use it on the computed colours.
 */
export type RGBA = [number, number, number, number];

/** Parses `#rgb`, `#rrggbb`, `rgb(r, g, b)` and `rgba(r, g, b, a)` (what getComputedStyle and plotly give). */
export function parseColour(css: string): RGBA {
  const s = css.trim().toLowerCase();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(s);
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join('') : hex[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)).concat(1) as RGBA;
  }
  const fn = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(s);
  if (fn) {
    const alpha = fn[4] === undefined ? 1 : fn[4].endsWith('%') ? Number(fn[4].slice(0, -1)) / 100 : Number(fn[4]);
    return [Number(fn[1]), Number(fn[2]), Number(fn[3]), alpha];
  }
  throw new Error(`unsupported colour "${css}"`);
}

/** `fg` painted over the opaque `bg` (alpha compositing). */
export function over(fg: RGBA, bg: RGBA): RGBA {
  const a = fg[3];
  return [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a)).concat(1) as RGBA;
}

/** WCAG 2 relative luminance of an opaque colour. */
export function luminance([r, g, b]: RGBA): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG 2 contrast ratio (1–21) of `fg` (may be translucent) on the opaque `bg`. */
export function contrast(fg: string, bg: string): number {
  const back = parseColour(bg);
  const a = luminance(over(parseColour(fg), back));
  const b = luminance(back);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/** CIELAB (D65) of an opaque colour. */
export function lab(c: RGBA): [number, number, number] {
  const lin = (v: number) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const [r, g, b] = [lin(c[0]), lin(c[1]), lin(c[2])];
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t) / 116 + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** CIE76 colour difference ΔE*ab of `a` (may be translucent) on the opaque `bg` against `bg` itself or `b`. */
export function deltaE(a: string, b: string): number {
  const back = parseColour(b);
  const [l1, a1, b1] = lab(over(parseColour(a), back));
  const [l2, a2, b2] = lab(back);
  return Math.hypot(l1 - l2, a1 - a2, b1 - b2);
}
