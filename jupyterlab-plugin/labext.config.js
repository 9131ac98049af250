// Extra rspack config merged by @jupyter/builder: bundle milkit's browser-safe core (compiled
// dist/core.js of the root package) into the extension, so the renderers run the very same
// masking and schema code as the library.
const path = require('path');

module.exports = {
  resolve: { alias: { 'milkit/core$': path.resolve(__dirname, '../dist/core.js') } },
};
