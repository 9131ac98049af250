// The e2e JupyterLab host: the npm-built JupyterLab 4.6.4 frontend (the extensions listed in
// ../../package.json "appExtensions"), which loads PREBUILT federated extensions at start-up the
// same way a user's JupyterLab does, so the browser test exercises the exact shipped labext/.
// Shared modules come from @jupyterlab/core-meta (JupyterLab's own resolutions/singletons).
const fs = require('fs');
const path = require('path');
const rspack = require('@rspack/core');
const { Build } = require('@jupyter/builder');
const miniSVGDataURI = require('mini-svg-data-uri');
const core = require('@jupyterlab/core-meta/core.package.json');
const plugin = require('../../package.json');

const out = path.resolve(__dirname, 'build');
const assets = Build.ensureAssets({ packageNames: plugin.appExtensions, output: out });
// Test-friendly defaults (every notebook cell in the DOM, no news check), as a user's overrides.json.
fs.mkdirSync(path.join(out, 'application_settings'), { recursive: true });
fs.copyFileSync(path.join(__dirname, 'overrides.json'), path.join(out, 'application_settings', 'overrides.json'));

/** Module federation scope: every installed core package, singletons as JupyterLab marks them. */
function shared() {
  const result = {};
  for (const [name, range] of Object.entries(core.resolutions)) {
    try {
      require.resolve(`${name}/package.json`);
    } catch {
      continue; // not part of this trimmed app
    }
    result[name] = { requiredVersion: range, singleton: core.jupyterlab.singletonPackages.includes(name) };
  }
  return result;
}

module.exports = [
  {
    mode: 'development',
    devtool: false,
    entry: { bundle: path.resolve(__dirname, 'bootstrap.js') },
    output: { path: out, filename: '[name].js', publicPath: 'auto' },
    // mathjax-full's loader reads __dirname only when run under Node; in the browser rspack's mock is right.
    ignoreWarnings: [/"__dirname" is used and has been mocked/],
    // One yjs instance: CommonJS and ESM importers would otherwise get two copies ("Not same Y.Doc").
    resolve: {
      fallback: { path: false },
      alias: { yjs$: path.join(path.dirname(require.resolve('yjs/package.json')), 'dist/yjs.mjs') },
    },
    module: {
      rules: [
        { test: /\.css$/, exclude: /\.raw\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.raw\.css$/, type: 'asset/source' },
        { test: /\.(html|eot)$/, type: 'asset/resource' },
        { test: /\.md$/, type: 'asset/source' },
        { test: /\.(jpg|png|gif)$/, type: 'asset/resource' },
        { test: /\.(woff2?|ttf)(\?v=\d+\.\d+\.\d+)?$/, type: 'asset' },
        {
          test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
          issuer: /\.css$/,
          type: 'asset/inline',
          generator: { dataUrl: { content: (c) => miniSVGDataURI(c.toString()), mimetype: 'image/svg+xml' } },
        },
        { test: /\.svg(\?v=\d+\.\d+\.\d+)?$/, issuer: /\.js$/, type: 'asset/source' },
      ],
    },
    plugins: [
      new rspack.DefinePlugin({ process: { cwd: () => '/', env: {} } }),
      new rspack.container.ModuleFederationPlugin({
        name: 'CORE_FEDERATION',
        library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
        shared: shared(),
      }),
    ],
  },
].concat(assets);
