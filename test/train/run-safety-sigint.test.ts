/**
 * Issue 15, item 2: Ctrl-C during `piat train`, as a real SIGINT to a child process. The first
 * stops the run once the current epoch is saved and says so; a second ends the process at once,
 * and the last saved checkpoint still resumes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawn, ChildProcess } from 'child_process';
import { tmpDir } from '../helpers';
import { CLI, cli, tinyConfig, writeJson } from '../run-safety-helpers';

const EPOCHS = 60;

/** A long run of tiny epochs (each a few milliseconds), so that it is still training when the signal comes. */
function longRun(dir: string): string {
  const c = tinyConfig(path.join(dir, 'run'));
  return writeJson(path.join(dir, 'run.json'), { ...c, train: { ...(c.train as object), epochs: EPOCHS, eval: { n: 12, attack: null } } });
}

function start(config: string): {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const child = spawn(process.execPath, [CLI, 'train', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => err, exit };
}

/** Waits until the run has saved its first checkpoint (so a stop has something to keep). */
async function untilCheckpoint(runDir: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!fs.existsSync(path.join(runDir, 'checkpoint', 'state.json'))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no checkpoint in ${runDir} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const epochOf = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8')).epoch as number;

function savedEpoch(runDir: string): number {
  for (const d of ['checkpoint', 'checkpoint.old']) {
    const f = path.join(runDir, d, 'state.json');
    if (fs.existsSync(f)) return JSON.parse(fs.readFileSync(f, 'utf8')).epoch;
  }
  throw new Error(`no checkpoint in ${runDir}`);
}

test('SIGINT to a running `piat train` stops it after the current epoch, saved, and says so', async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, 'run');
  const { child, stderr, exit } = start(longRun(dir));
  await untilCheckpoint(runDir);
  const atSignal = epochOf(runDir);
  child.kill('SIGINT');
  const t0 = Date.now();
  const { code, signal } = await exit;
  assert.equal(signal, null, stderr());
  assert.equal(code, 0, stderr());
  assert.ok(Date.now() - t0 < 30_000, 'it stops promptly');
  const saved = epochOf(runDir);
  assert.ok(saved < EPOCHS, `the run stopped early (saved epoch ${saved} of ${EPOCHS})`);
  assert.ok(saved <= atSignal + 2, `it stopped within the epoch running at the signal (signal after epoch ${atSignal}, saved ${saved})`);
  assert.match(stderr(), /Ctrl-C: stopping once the current epoch is saved/);
  assert.match(stderr(), new RegExp(`stopped after epoch ${saved}: its checkpoint is saved in .*checkpoint; run again to resume`));
  assert.equal(
    fs.readFileSync(path.join(runDir, 'records.jsonl'), 'utf8').trim().split('\n').length,
    saved,
    'records match the checkpoint',
  );
  assert.ok(!fs.existsSync(path.join(runDir, 'done.json')));
  assert.ok(!fs.existsSync(path.join(runDir, 'run.lock')), 'the lock is released');
});

test('a second SIGINT ends `piat train` at once; the saved checkpoint resumes and the stale lock is taken over', async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, 'run');
  const config = longRun(dir);
  const { child, stderr, exit } = start(config);
  await untilCheckpoint(runDir);
  child.kill('SIGINT');
  // the first one prints its notice; the second follows it at once
  const t0 = Date.now();
  while (!/Ctrl-C: stopping/.test(stderr()) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGINT');
  const { code, signal } = await exit;
  assert.ok(signal === 'SIGINT' || code === 130, `ended by the second Ctrl-C (code ${code}, signal ${signal})\n${stderr()}`);
  // killed at any instant, the folder holds a complete checkpoint (the newest, or the previous one mid-swap)
  const saved = savedEpoch(runDir);
  assert.ok(saved >= 1 && saved < EPOCHS, `saved epoch ${saved}`);
  const before = fs.readFileSync(path.join(runDir, 'records.jsonl'), 'utf8').trim().split('\n').slice(0, saved);
  // resume: the killed process's lock is stale and taken over, the checkpoint loads, the run completes
  const r = cli(['train', '--config', config]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /run\.lock was left by process \d+, which is no longer running; taking it over/);
  assert.equal(epochOf(runDir), EPOCHS);
  const after = fs.readFileSync(path.join(runDir, 'records.jsonl'), 'utf8').trim().split('\n');
  assert.equal(after.length, EPOCHS);
  assert.deepEqual(after.slice(0, saved), before, 'the epochs before the kill were kept, not retrained');
});
