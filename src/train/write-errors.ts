/**
 * A write in a run folder that the operating system refused — the disk is full (ENOSPC), no
 * permission (EACCES, EPERM), a read-only file system (EROFS), a folder that vanished (ENOENT) —
 * becomes one PiatError('write-failed') whose message names the run folder, what was being
 * written, the OS's reason and which checkpoint is kept, so that the CLI prints one line instead of
 * a Node stack. The writes themselves (util/fsx.ts writeFileAtomic, checkpoint.ts) leave the last
 * good checkpoint in place when they fail; the message says which one that is.
 */
import * as fs from 'fs';
import { PiatError } from '../util/errors';
import { savedCheckpoint } from './checkpoint';

/** What each common OS error means for a run folder, and what to do about it. */
const REASONS: Record<string, { reason: string; advice: string }> = {
  ENOSPC: { reason: 'no space left on the device', advice: 'free some space' },
  EDQUOT: { reason: 'the disk quota is used up', advice: 'free some space or raise the quota' },
  EACCES: { reason: 'permission denied', advice: 'make the folder writable for this user' },
  EPERM: { reason: 'operation not permitted', advice: 'make the folder writable for this user' },
  EROFS: { reason: 'the file system is read-only', advice: 'make it writable (or copy the run folder to a writable disk)' },
  ENOENT: {
    reason: 'a folder on the way no longer exists',
    advice: 'check that nothing deletes or moves the run folder while it trains',
  },
  EIO: { reason: 'an input/output error', advice: 'check the disk' },
};

/** A Node system error (fs calls throw these: a code such as ENOSPC and the system call), not a bug in the code. */
export function isOsError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  const x = e as NodeJS.ErrnoException;
  return (
    e instanceof Error &&
    !(e instanceof PiatError) &&
    typeof x.code === 'string' &&
    /^E[A-Z0-9]+$/.test(x.code) &&
    typeof x.syscall === 'string'
  );
}

/** `e` as a PiatError('write-failed') when the OS refused a write (see above), else `e` itself. */
export function writeFailure(runDir: string, what: string, e: unknown): unknown {
  if (!isOsError(e)) return e;
  const known = REASONS[e.code];
  const reason = known?.reason ?? String(e.message).split('\n')[0];
  const advice = known?.advice ?? 'fix the cause';
  const saved = savedCheckpoint(runDir);
  const kept = saved
    ? `The last good checkpoint, of epoch ${saved.epoch} (${saved.dir}), is kept: ${advice} and run again to resume from it.`
    : fs.existsSync(runDir)
      ? `No checkpoint had been saved in ${runDir} yet: ${advice} and run again to start.`
      : `${runDir} no longer exists, nor any checkpoint in it: ${advice} and run again to start over.`;
  return new PiatError('write-failed', `${runDir}: ${what} failed: ${reason} (${e.code}${e.path ? `, ${e.path}` : ''}). ${kept}`);
}

/**
 * Runs `f`, a write into the run folder (sync or async), turning an OS refusal into the
 * PiatError above; `what` says what was being written ("saving the checkpoint of epoch 3").
 */
export function writing<T>(runDir: string, what: string, f: () => T): T {
  let r: T;
  try {
    r = f();
  } catch (e) {
    throw writeFailure(runDir, what, e);
  }
  if (r instanceof Promise)
    return r.catch((e: unknown) => {
      throw writeFailure(runDir, what, e);
    }) as T;
  return r;
}
