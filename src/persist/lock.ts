/**
 * Folder locks: one process at a time writes a run folder.
 *
 * The lock is a file created with O_EXCL holding who took it (host, pid, start time, command). A
 * second process finds it and refuses, naming the holder. A lock whose process is dead on this host
 * is stale (the process was killed) and is taken over; a lock of another host is never broken
 * silently, since its process may still run there (a shared file system): the error says how to
 * remove it once the user knows that process is gone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MilkitDataError } from '../data/errors';

/** What a lock file holds. */
export interface LockOwner {
  host: string;
  pid: number;
  /** When the lock was taken (ISO time). */
  at: string;
  /** What holds it, e.g. `milkit train --model abmil ...`. */
  what: string;
}

/** A lock file younger than this without content is being written by its taker right now. */
const HALF_WRITTEN_GRACE_MS = 10_000;

export class FolderLockedError extends MilkitDataError {
  constructor(
    readonly lockFile: string,
    readonly owner: LockOwner | undefined,
    fix: string,
  ) {
    const host = owner?.host === os.hostname() ? 'this host' : `host ${owner?.host}`;
    super(
      owner
        ? `the folder is in use by pid ${owner.pid} on ${host}` +
            `${owner.at ? ` since ${owner.at}` : ''}${owner.what ? ` (${owner.what})` : ''}`
        : 'the folder is in use (its lock file is being written)',
      { file: lockFile },
      fix,
    );
    this.name = 'FolderLockedError';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}

function readOwner(file: string): { text: string; owner?: LockOwner } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // released meanwhile
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    if (typeof o.host === 'string' && Number.isInteger(o.pid)) return { text, owner: o };
  } catch {
    // half-written or not a lock of ours
  }
  return { text };
}

/** Whether the lock's holder is certainly gone: a dead pid on this host, or an old unreadable file. */
function isStale(file: string, owner: LockOwner | undefined): boolean {
  if (owner)
    return owner.host === os.hostname() && (owner.pid === process.pid ? !held.has(file) : !processAlive(owner.pid));
  try {
    return Date.now() - fs.statSync(file).mtimeMs > HALF_WRITTEN_GRACE_MS;
  } catch {
    return true;
  }
}

const held = new Set<string>();
let exitHookInstalled = false;

/**
 * Takes the lock `file` for `what` (e.g. the command line). Throws `FolderLockedError` when a live
 * process holds it (or a process on another host, which cannot be checked from here). Returns the
 * release function; a lock still held when the process exits is removed then.
 */
export function takeFolderLock(file: string, what: string): () => void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockOwner = { host: os.hostname(), pid: process.pid, at: new Date().toISOString(), what };
  const mine = JSON.stringify(me);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const found = readOwner(file);
      if (!found) continue; // released between open and read
      if (found.owner?.pid === process.pid && found.owner.host === me.host && held.has(file))
        throw new FolderLockedError(file, found.owner, 'this process already runs in this folder: use another folder');
      if (!isStale(file, found.owner)) {
        const o = found.owner;
        const here = o?.host === me.host;
        throw new FolderLockedError(
          file,
          o,
          !o
            ? 'wait a moment and retry'
            : here
              ? `wait for it to finish (or stop it: kill ${o.pid}), or use another output folder`
              : `use another output folder; if that process is no ` +
                `longer running on ${o.host}, delete ${file} and retry`,
        );
      }
      // Stale: removed only if nobody replaced it since it was read.
      if (readOwner(file)?.text === found.text) fs.rmSync(file, { force: true });
      continue;
    }
    try {
      fs.writeSync(fd, mine);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    held.add(file);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => held.forEach(releaseIfMine));
    }
    return () => {
      held.delete(file);
      releaseIfMine(file);
    };
  }
  throw new FolderLockedError(file, readOwner(file)?.owner, 'another process keeps taking this lock: retry later');
}

function releaseIfMine(file: string): void {
  const found = readOwner(file);
  if (found?.owner?.pid === process.pid && found.owner.host === os.hostname()) fs.rmSync(file, { force: true });
}

/** The holder of a lock file, or undefined when it is free or stale. */
export function folderLockOwner(file: string): LockOwner | undefined {
  const found = readOwner(file);
  if (!found || isStale(file, found.owner)) return undefined;
  return found.owner;
}
