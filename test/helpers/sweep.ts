import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SweepFolder, Unit } from '../../src/sweep';

/**
 * Makes every unit of `config` fail when it runs, the way a unit folder damaged after planning
 * does: its run folder holds a run manifest cut short, which the trainer refuses to resume from.
 * A failure only running can find (the plan was valid), for tests of failed units.
 */
export function damageRunFolders(folder: SweepFolder, config: string): void {
  for (const u of (folder.manifest().units as Unit[]).filter((x) => x.config === config)) {
    const run = path.join(folder.unitDir(u), 'train');
    fs.mkdirSync(run, { recursive: true });
    fs.writeFileSync(path.join(run, 'run.json'), '{"format": "milkit-run", "fingerp');
  }
}
