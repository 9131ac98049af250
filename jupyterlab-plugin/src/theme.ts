/**
 * Theme-aware colours. Scores use Viridis: perceptually uniform and legible on both JupyterLab's
 * light and dark backgrounds (its ends are dark blue and yellow, never white or black). Text and
 * grid colours come from the theme's CSS variables, re-read whenever the theme switches.
 */
export const SCORE_COLORSCALE = 'Viridis';

export interface ThemeColors {
  font: string;
  grid: string;
  /** Neutral cell colour for "kept" instances in the masking preview. */
  neutral: string;
  dark: boolean;
}

export function themeColors(el: Element): ThemeColors {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const dark = document.body.dataset.jpThemeLight === 'false';
  return {
    font: v('--jp-ui-font-color1', dark ? '#e0e0e0' : '#212121'),
    grid: v('--jp-border-color2', dark ? '#424242' : '#e0e0e0'),
    neutral: dark ? '#5f6b7a' : '#b8c2cc',
    dark,
  };
}

/** Calls `onChange` when JupyterLab switches theme (it rewrites these body attributes). */
export function watchTheme(onChange: () => void): MutationObserver {
  const observer = new MutationObserver(onChange);
  observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
  return observer;
}

/** Plotly layout defaults: transparent background, theme text colour. */
export function baseLayout(colors: ThemeColors): Record<string, unknown> {
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: colors.font, size: 12 },
    margin: { l: 50, r: 20, t: 30, b: 40 },
    hoverlabel: { namelength: -1 },
  };
}
