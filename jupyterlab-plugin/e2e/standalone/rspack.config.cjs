// Bundles the standalone renderer page (entry.js) for e2e/standalone.test.mjs: lib/ + milkit/core
// (aliased to the compiled dist/core.js exactly like labext.config.cjs) + plotly + the CSS.
const path = require('path');

module.exports = {
  mode: 'development',
  devtool: false,
  entry: path.resolve(__dirname, 'entry.js'),
  output: { path: path.resolve(__dirname, 'build'), filename: 'bundle.js' },
  resolve: { alias: { 'milkit/core$': path.resolve(__dirname, '../../../dist/core.js') } },
  module: { rules: [{ test: /\.css$/, use: ['style-loader', 'css-loader'] }] },
};
