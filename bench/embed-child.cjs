// One bench:embed run (see embed.ts): `embedSlides` of a tiled folder with one encoder into a fresh
// features folder, printing {patches, seconds, peakRssMiB} as JSON. A fresh plain-node process on
// the built package, so its peak RSS (VmHWM) is this run's own (under tsx, the ESM dependencies
// loaded at run time would be transpiled on load, adding memory that is not milkit's).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { embedSlides, onnxSlideEncoder, sslSlideEncoder, useBackend } = require('milkit');

async function main() {
  const [tiles, kind, model, labels, out] = process.argv.slice(2);
  await useBackend();
  const encoder = kind === 'onnx' ? await onnxSlideEncoder(model) : sslSlideEncoder(model);
  fs.rmSync(path.join(tiles, `features_${encoder.name}`), { recursive: true, force: true });
  const t0 = performance.now();
  const r = await embedSlides(tiles, out, encoder, { labels, onNotice: () => {} });
  const seconds = (performance.now() - t0) / 1000;
  const device = encoder.device;
  encoder.dispose();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  const patches = r.slides.reduce((n, s) => n + s.patches, 0);
  process.stdout.write(`${JSON.stringify({ patches, seconds, device, peakRssMiB: Number(hwm[1]) / 1024 })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
