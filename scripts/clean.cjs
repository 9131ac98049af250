// `npm run build` starts from empty output folders: a compiled file whose source moved or was deleted
// would otherwise stay behind and shadow the module that replaced it (dist/backend.js vs dist/backend/).
const fs = require('node:fs');
const path = require('node:path');

for (const dir of process.argv.slice(2))
  fs.rmSync(path.resolve(__dirname, '..', dir), { recursive: true, force: true });
