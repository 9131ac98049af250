// The app: JupyterLab's own plugins plus the mime/plugin modules of the federated extensions.
import { PageConfig } from '@jupyterlab/coreutils';
import './build/style.js';

// This trimmed app has no language server and no table of contents: drop the plugins needing them.
const withoutLanguageServer = (m) =>
  m.default.filter(({ id }) => !id.includes(':language-server') && !id.endsWith(':toc'));
// Not useful offline and noisy in tests: the news/update-check toast.
const withoutAnnouncements = (m) => m.default.filter(({ id }) => !id.includes('announcements'));

async function corePlugins() {
  const modules = await Promise.all([
    import('@jupyterlab/application-extension'),
    import('@jupyterlab/apputils-extension').then(withoutAnnouncements),
    import('@jupyterlab/celltags-extension'),
    import('@jupyterlab/codemirror-extension'),
    import('@jupyterlab/completer-extension'),
    import('@jupyterlab/console-extension'),
    import('@jupyterlab/docmanager-extension'),
    import('@jupyterlab/documentsearch-extension'),
    import('@jupyterlab/filebrowser-extension'),
    import('@jupyterlab/fileeditor-extension').then(withoutLanguageServer),
    import('@jupyterlab/help-extension'),
    import('@jupyterlab/launcher-extension'),
    import('@jupyterlab/mainmenu-extension'),
    import('@jupyterlab/markdownviewer-extension'),
    import('@jupyterlab/markedparser-extension'),
    import('@jupyterlab/mathjax-extension'),
    import('@jupyterlab/metadataform-extension'),
    import('@jupyterlab/notebook-extension').then(withoutLanguageServer),
    import('@jupyterlab/rendermime-extension'),
    import('@jupyterlab/running-extension'),
    import('@jupyterlab/services-extension'),
    import('@jupyterlab/settingeditor-extension'),
    import('@jupyterlab/shortcuts-extension'),
    import('@jupyterlab/statusbar-extension'),
    import('@jupyterlab/theme-dark-extension'),
    import('@jupyterlab/theme-light-extension'),
    import('@jupyterlab/tooltip-extension'),
    import('@jupyterlab/translation-extension'),
    import('@jupyterlab/ui-components-extension'),
  ]);
  return modules.flatMap((m) => (Array.isArray(m) ? m : Array.isArray(m.default) ? m.default : [m.default]));
}

async function federatedModule(ext, key) {
  const factory = await window._JUPYTERLAB[ext.name].get(key);
  const mod = factory();
  return mod.default ?? mod;
}

export async function main(federated) {
  const { JupyterLab } = await import('@jupyterlab/application');
  const mimeExtensions = [(await import('@jupyterlab/json-extension')).default];
  const plugins = await corePlugins();
  for (const ext of federated) {
    if (ext.mimeExtension) mimeExtensions.push(await federatedModule(ext, ext.mimeExtension));
    if (ext.extension) plugins.push(...[].concat(await federatedModule(ext, ext.extension)));
    if (ext.style) await federatedModule(ext, ext.style);
  }
  const lab = new JupyterLab({ mimeExtensions: mimeExtensions.flat() });
  window.jupyterapp = lab; // the tests (and galata, if used) drive the app through this handle
  lab.registerPluginModules(plugins);
  await lab.start();
  await lab.restored;
  document.body.dataset.milkitFederated = federated.map((e) => e.name).join(',');
  console.debug('milkit e2e host started', PageConfig.getOption('appVersion'));
}
