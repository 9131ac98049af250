/** Helpers of the persist tests: the milkit 0.1 fixtures, header surgery, and the refusal check. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MilkitDataError } from '../../src/data/errors';

/** Files written by milkit 0.1's own code (commit b538cec): see fixtures/README.md. */
export const FIXTURES = path.join(__dirname, 'fixtures');

/** Rewrites a checkpoint's JSON header (and its length field), keeping the tensor bytes as they are. */
export function rewriteHeader(file: string, edit: (h: Record<string, unknown>) => void): void {
  const buf = fs.readFileSync(file);
  const n = buf.readUInt32LE(8);
  const start = Math.ceil((12 + n) / 8) * 8;
  const header = JSON.parse(buf.toString('utf8', 12, 12 + n));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const lead = Buffer.alloc(Math.ceil((12 + json.length) / 8) * 8);
  buf.copy(lead, 0, 0, 8);
  lead.writeUInt32LE(json.length, 8);
  json.copy(lead, 12);
  fs.writeFileSync(file, Buffer.concat([lead, buf.subarray(start)]));
}

/** Asserts one MilkitDataError naming the file (and the field, when given) whose message matches. */
export function assertRefused(fn: () => unknown, file: string, message: RegExp, field?: string): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof MilkitDataError, `a MilkitDataError, got ${e.name}: ${e.message}`);
    assert.equal(e.where.file, file);
    if (field !== undefined) assert.equal(e.where.field, field, e.message);
    assert.match(e.message, message);
    assert.ok(e.message.startsWith(`file ${file}`), e.message);
    return true;
  });
}

/** Runs a child that starts writing `file` atomically and is killed (SIGKILL) before it finishes. */
export function killedWriter(file: string): number {
  const script = `
    const fs = require('node:fs');
    const { tempPathFor } = require(${JSON.stringify(path.resolve(__dirname, '../../src/persist/atomic.ts'))});
    fs.writeFileSync(tempPathFor(${JSON.stringify(file)}), 'half of a checkpoint');
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script]);
  assert.equal(r.signal, 'SIGKILL');
  return r.pid!;
}
