/**
 * One writer per run folder: `run.lock` holds the owner's pid, host and start time. It is created
 * complete and atomically (written to a private file, then hard-linked into place, which fails if
 * the lock exists), so a reader never sees half a lock. A lock whose pid is dead on this host is
 * stale (a crash or kill -9) and is taken over; a live one, or one from another host (whose pid
 * cannot be checked from here), refuses the second writer.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PiatError } from '../util/errors';

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface RunLock {
  file: string;
  /** removes the lock if it is still ours */
  release(): void;
}

export const LOCK_NAME = 'run.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

export function acquireRunLock(runDir: string): RunLock {
  fs.mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, LOCK_NAME);
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  const mine = `${file}.${process.pid}.${Date.now()}`;
  fs.writeFileSync(mine, JSON.stringify(me, null, 1));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        createExclusive(mine, file, me);
        return { file, release: () => release(file, me) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readOwner(file);
      if (owner && (owner.host !== me.host || alive(owner.pid))) {
        const where = owner.host === me.host ? `process ${owner.pid}` : `process ${owner.pid} on host ${owner.host}`;
        throw new PiatError(
          'run-locked',
          `${runDir} is in use by ${where} (since ${owner.startedAt}: ${owner.command}). Two writers would overwrite each other's checkpoints; ` +
            `wait for it, stop it, or choose another run directory.` +
            (owner.host !== me.host ? ` If that process is gone, delete ${file}.` : ''),
        );
      }
      // stale (dead pid on this host) or unreadable: move it aside, and put it back should it turn out
      // to be a live lock that another process took over between our read and the move
      const aside = `${mine}.stale`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readOwner(aside);
      if (moved && owner && (moved.pid !== owner.pid || moved.startedAt !== owner.startedAt)) {
        try {
          fs.linkSync(aside, file);
        } catch {
          /* someone holds it again; the next round reads who */
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      process.stderr.write(
        `note: ${file} was left by ${owner ? `process ${owner.pid}, which is no longer running` : 'an unreadable lock'}; taking it over\n`,
      );
    }
    throw new PiatError('run-locked', `Could not take the lock ${file}: another process keeps taking it.`);
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

/** Creates `file` with `me` in it, failing with EEXIST if it exists: a hard link where the file system has them, else an exclusive create. */
function createExclusive(mine: string, file: string, me: LockOwner): void {
  try {
    fs.linkSync(mine, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    fs.writeFileSync(file, JSON.stringify(me, null, 1), { flag: 'wx' });
  }
}

function release(file: string, me: LockOwner): void {
  const owner = readOwner(file);
  if (owner && owner.pid === me.pid && owner.host === me.host && owner.startedAt === me.startedAt) fs.rmSync(file, { force: true });
}
