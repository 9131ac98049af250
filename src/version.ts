import * as fs from 'node:fs';
import * as path from 'node:path';

/** The milkit package version (package.json sits one folder above both src/ and dist/). */
export function milkitVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}
