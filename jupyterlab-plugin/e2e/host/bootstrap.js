/* global __webpack_init_sharing__, __webpack_share_scopes__ */
// Loads the prebuilt (federated) extensions the server lists in page_config before the app code,
// so module federation can resolve shared singletons (@lumino/widgets, ...) between them.
function pageConfig() {
  const node = document.getElementById('jupyter-config-data');
  return node ? JSON.parse(node.textContent || '{}') : {};
}

const config = pageConfig();
// eslint-disable-next-line no-undef -- a free variable that webpack defines at build time
__webpack_public_path__ = config.fullStaticUrl + '/';

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.onerror = () => reject(new Error(`cannot load ${url}`));
    script.onload = resolve;
    script.async = true;
    script.src = url;
    document.head.appendChild(script);
  });
}

async function loadFederated(ext) {
  await loadScript(`${config.fullLabextensionsUrl}/${ext.name}/${ext.load}`);
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB[ext.name];
  await container.init(__webpack_share_scopes__.default);
  return ext;
}

void (async () => {
  const federated = config.federated_extensions || [];
  const settled = await Promise.allSettled(federated.map(loadFederated));
  const loaded = [];
  settled.forEach((s) => (s.status === 'fulfilled' ? loaded.push(s.value) : console.error(s.reason)));
  const { main } = await import('./index.js');
  await main(loaded);
})();
