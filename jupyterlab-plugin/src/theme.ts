/**
 * Theme-aware colours, chosen by measurement (colour.ts; the browser test re-measures them on the
 * rendered page in JupyterLab Light and Dark):
 * - scores: Viridis (perceptually uniform, colour-blind safe) on the page background. Its colours
 *   differ from both pages by CIELAB ΔE ≥ 45 (measured on the rendered patches: ≥ 55 on white,
 *   ≥ 45 on #111; ΔE 2.3 is just noticeable), so neither end melts into the page. A mid-grey plot area would give both
 *   ends 3:1 luminance
 *   contrast but ΔE 26 for the middle of the scale: worse.
 * - masking preview: per-theme palettes where every status keeps ≥ 3:1 against the "kept" cells.
 * - text and grid: the theme's own CSS variables, re-read whenever the theme switches.
 */
import type { MASK_STATUS } from 'milkit/core';
import { luminance, parseColour } from './colour.js';

export const SCORE_COLORSCALE = 'Viridis';

export type StatusName = keyof typeof MASK_STATUS;
export const MASK_COLORS: Record<'light' | 'dark', Record<StatusName, string>> = {
  // status vs kept: high 3.3, random 5.0, low 3.3, recycled 3.3; kept vs white page 1.3
  light: { kept: '#dee2e6', high: '#d9480f', random: '#6741d9', low: '#0c8599', recycled: '#2b8a3e' },
  // status vs kept: high 5.2, random 3.4, low 5.8, recycled 5.7; kept vs #111 page 1.6
  dark: { kept: '#343a40', high: '#ff922b', random: '#9775fa', low: '#3bc9db', recycled: '#51cf66' },
};

export interface ThemeColors {
  font: string;
  muted: string;
  grid: string;
  mask: Record<StatusName, string>;
  /** Known-positive outlines on the heatmap, and the page colour under missing cells. */
  outline: string;
  empty: string;
  dark: boolean;
}

export function themeColors(el: Element): ThemeColors {
  const css = getComputedStyle(el);
  const v = (name: string) => css.getPropertyValue(name).trim();
  const dark = isDark(v('--jp-layout-color0'));
  const pick = (name: string, light: string, darkValue: string) => v(name) || (dark ? darkValue : light);
  return {
    font: pick('--jp-ui-font-color1', '#212121', '#e0e0e0'),
    muted: pick('--jp-ui-font-color2', '#616161', '#9e9e9e'),
    grid: pick('--jp-border-color2', '#e0e0e0', '#424242'),
    mask: MASK_COLORS[dark ? 'dark' : 'light'],
    outline: dark ? '#ff6b9d' : '#e8175d',
    empty: pick('--jp-layout-color2', '#eeeeee', '#2a2a2a'),
    dark,
  };
}

/** JupyterLab marks the theme on <body>; other hosts (plain pages) are judged by their background. */
function isDark(background: string): boolean {
  const flag = document.body.dataset.jpThemeLight;
  if (flag !== undefined) return flag === 'false';
  try {
    const bg = parseColour(background || getComputedStyle(document.body).backgroundColor);
    return bg[3] > 0 && luminance(bg) < 0.2; // transparent: the browser paints white behind it
  } catch {
    return false;
  }
}

/** Calls `onChange` when JupyterLab switches theme (it rewrites these body attributes). */
export function watchTheme(onChange: () => void): MutationObserver {
  const observer = new MutationObserver(onChange);
  observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
  return observer;
}

/** Plotly layout defaults: transparent background, theme text colour, a modebar that shows on both themes. */
export function baseLayout(colors: ThemeColors): Record<string, unknown> {
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: colors.font, size: 12 },
    margin: { l: 50, r: 20, t: 30, b: 40 },
    hoverlabel: { namelength: -1 },
    modebar: { bgcolor: 'rgba(0,0,0,0)', color: colors.muted, activecolor: colors.font },
  };
}
