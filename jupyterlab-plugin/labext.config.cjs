// Extra rspack config merged by @jupyter/builder: bundle milkit's browser-safe core (compiled
// dist/core.js of the root package) into the extension, so the renderers run the very same
// masking and schema code as the library.
const path = require('path');

module.exports = {
  resolve: { alias: { 'milkit/core$': path.resolve(__dirname, '../dist/core.js') } },
  // plotly.js is ~4 MB: above the 300 KB web-page budget rspack warns about, but a JupyterLab
  // extension is loaded once from the user's own Jupyter server, not over the internet per visit.
  performance: { hints: false },
};
