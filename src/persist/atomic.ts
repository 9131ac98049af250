/**
 * Atomic file writes and the clean-up of what killed writers leave behind.
 *
 * A write goes to `<file>.tmp-<host>-<pid>-<n>`, is fsync'ed, renamed over `<file>` (atomic on POSIX
 * file systems) and the folder is fsync'ed, so a crash at any moment leaves either the previous
 * complete file or the new complete one. A write that fails removes its temp file; a process killed
 * mid-write cannot, so the next run of a command calls `removeStaleTempFiles(folder)`: the host and
 * pid in the name tell a dead writer's leftovers from a file another process is writing right now.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The host name as it appears in temp names: no '-', so the name splits unambiguously. */
const HOST = os.hostname().replace(/[^A-Za-z0-9._]/g, '_') || 'localhost';
const TEMP_NAME = /^(.+)\.tmp-([A-Za-z0-9._]+)-(\d+)-(\d+)$/;
/** A temp file of another host is only removed when nobody touched it for this long (its pid cannot be checked). */
const OTHER_HOST_STALE_MS = 24 * 3600 * 1000;

let counter = 0;

/** A fresh temp path beside `file`, named after this host and process. */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${HOST}-${process.pid}-${counter++}`;
}

/**
 * Writes `chunks` to `file` atomically. If producing or writing a chunk throws (or the rename fails),
 * the temp file is removed and `file` is untouched.
 */
export function writeFileAtomic(file: string, chunks: Iterable<Uint8Array>): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(file);
  // 'w', not 'wx': a file of this name can only be a dead process's whose pid this one reuses.
  let fd: number | undefined = fs.openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files in `dir` (not below it) that `writeFileAtomic` left when its process died:
 * those of this host whose pid is no longer running, and those of other hosts untouched for a day.
 * Returns the removed paths. A missing folder has nothing to clean.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const [, , host, pid] = m;
    let stale: boolean;
    if (host === HOST) stale = !processAlive(Number(pid));
    else {
      try {
        stale = Date.now() - fs.statSync(file).mtimeMs > OTHER_HOST_STALE_MS;
      } catch {
        continue; // gone meanwhile
      }
    }
    if (!stale) continue;
    try {
      fs.rmSync(file, { force: true });
      removed.push(file);
    } catch {
      // Not ours to remove (permissions): leave it, the run itself is unaffected.
    }
  }
  return removed;
}
