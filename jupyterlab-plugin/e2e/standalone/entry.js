// The standalone renderer page: milkit-jupyterlab's renderers (compiled lib/, the same code the
// prebuilt extension bundles) mounted with Lumino in a plain page, no JupyterLab around them.
import { Widget } from '@lumino/widgets';
import extensions from '../../lib/index.js';
import '../../style/index.css';

/** Renders one output the way JupyterLab's output area does: createRenderer → attach → renderModel. */
window.milkitRender = async (mime, data, host = document.body) => {
  const ext = extensions.find((e) => e.rendererFactory.mimeTypes.includes(mime));
  if (!ext) throw new Error(`no renderer for ${mime}`);
  const renderer = ext.rendererFactory.createRenderer({
    mimeType: mime,
    sanitizer: undefined,
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  });
  const box = document.createElement('div');
  box.className = 'standalone-output';
  host.append(box);
  Widget.attach(renderer, box);
  // An untrusted output model: data only, trusted false (what a freshly opened notebook gives).
  await renderer.renderModel({ data: { [mime]: data }, metadata: {}, trusted: false, setData() {} });
  return box;
};
window.milkitSafe = extensions.map((e) => e.rendererFactory.safe);
document.body.dataset.ready = 'true';
