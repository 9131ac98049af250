/**
 * Static figures → PNG inside the kernel, so a shared notebook shows them where SVG is stripped
 * (JupyterLab's sanitiser in untrusted notebooks, GitHub): resvg (a Rust SVG renderer shipped as
 * prebuilt N-API binaries inside its npm packages: nothing is downloaded or compiled at install)
 * with the DejaVu Sans fonts from the `dejavu-fonts-ttf` npm package, so the pixels are the same on
 * every machine whatever fonts it has.
 */
import * as path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { StaticFigure } from 'milkit/core';

/**
 * Pixels per SVG unit: 1.5 keeps text crisp on high-density screens at a third of the bytes of 2; the <img> is shown at
 * 1×.
 */
export const PNG_SCALE = 1.5;

let fontFiles: string[] | undefined;
function fonts(): string[] {
  const dir = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return (fontFiles ??= ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => path.join(dir, f)));
}

/** The figure as PNG bytes (white background, DejaVu Sans). */
export function figurePng(fig: StaticFigure, scale = PNG_SCALE): Buffer {
  const resvg = new Resvg(fig.svg, {
    background: '#ffffff',
    fitTo: { mode: 'zoom', value: scale },
    font: {
      fontFiles: fonts(),
      loadSystemFonts: false,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}
