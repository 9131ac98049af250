import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as A from 'apache-arrow';
import { Cohort, MilkitDataError, writeCohort } from '../../src/data';
import { randomFloats, tempDir } from '../helpers/tmp';

describe('data/cohort: reading patterns', () => {
  const dir = tempDir();

  it('concurrent loads (Promise.all, prefetch) return the right bags', async () => {
    const file = path.join(dir, 'conc.arrow');
    const src = Array.from({ length: 12 }, (_, b) => ({ id: `c${b}`, label: b % 2, features: randomFloats(5 * (b + 1) * 8, b + 1) }));
    await writeCohort(file, src, { dim: 8 });
    const c = await Cohort.open(file, { cacheBytes: 0 });
    const order = [5, 0, 11, 3, 3, 7, 1, 10, 2, 9, 4, 8, 6];
    const bags = await Promise.all(order.map((i) => c.bag(i)));
    bags.forEach((bag, k) => {
      assert.equal(bag.id, `c${order[k]}`);
      assert.deepEqual(Array.from(bag.features), Array.from(src[order[k]].features));
    });
    await c.close();
  });

  it('refuses the Arrow IPC stream format with a message that names the fix', async () => {
    const file = path.join(dir, 'stream.arrow');
    await writeCohort(file, [{ id: 'a', label: 0, features: randomFloats(8) }], { dim: 4 });
    const table = A.tableFromIPC(fs.readFileSync(file));
    fs.writeFileSync(file, A.tableToIPC(table, 'stream'));
    await assert.rejects(Cohort.open(file), (e: unknown) => e instanceof MilkitDataError && /stream\.arrow.*IPC \*stream\* format.*new_file/.test(e.message));
  });
});
