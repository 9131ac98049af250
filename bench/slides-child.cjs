// One bench:slides run (see slides.ts): tile SLIDE with BACKEND into a temporary folder, read every
// patch, print {patches, tileSeconds, readSeconds, peakRssMiB} as JSON. Plain JavaScript on the built
// package: under tsx, the ESM dependencies loaded at run time (h5wasm, geotiff) would be transpiled
// on load, adding seconds and hundreds of MiB that are not milkit's.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { openSlide, patchGeometry, readPatchFile, readPatches, tileSlides } = require('milkit');

async function main() {
  const [slide, backend] = process.argv.slice(2);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'milkit-bench-slides-'));
  try {
    const t0 = performance.now();
    const [r] = await tileSlides([slide], out, { backend, tiling: { magnification: 20, patchSize: 256 } });
    if (r.status !== 'tiled') throw new Error(r.error);
    const t1 = performance.now();
    const file = await readPatchFile(r.files.patches);
    const s = await openSlide(slide, { backend });
    let n = 0;
    for await (const b of readPatches(s, file.coords, patchGeometry(file.attrs), { batchSize: 64 })) n += b.n;
    s.close();
    const t2 = performance.now();
    if (n !== file.coords.length / 2) throw new Error('patches went missing');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    const result = {
      patches: n,
      tileSeconds: (t1 - t0) / 1000,
      readSeconds: (t2 - t1) / 1000,
      peakRssMiB: Number(hwm[1]) / 1024,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
