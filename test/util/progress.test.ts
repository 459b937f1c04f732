/**
 * Progress output as each place shows it: a terminal (carriage returns), a log (plain lines), a
 * notebook (one display per task, updated in place), and training's line and summary in each.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Progress } from '../../src/util/progress';
import { note } from '../../src/util/output';
import { mlp } from '../../src/models/mlp';
import { twoCircles } from '../../src/data/toy';
import { pgdAt } from '../../src/objectives/pgd-at';
import { train, TrainConfig } from '../../src/train/trainer';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir } from '../helpers';

before(setup);
after(() => delete process.env.PIAT_PROGRESS);

// eslint-disable-next-line no-control-regex -- the terminal's erase-line escape starts with ESC
const ERASE_LINE = /\x1b\[K/g;

/** What a terminal shows: each line's text after its last carriage return, escapes removed. */
function terminalScreen(raw: string): string[] {
  return raw
    .replace(ERASE_LINE, '')
    .split('\n')
    .map((l) => l.slice(l.lastIndexOf('\r') + 1))
    .filter((l) => l.length);
}

/**
 * Runs `fn` with stderr captured and stdout recorded. stdout still goes through: node's test
 * runner reports on it, so its records may hold the runner's lines too.
 */
async function capture(fn: () => unknown): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const w = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((s: string, ...rest: unknown[]) => (
    (out.stdout += s),
    (w.stdout as (...a: unknown[]) => boolean).call(process.stdout, s, ...rest)
  )) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((out.stderr += s), true)) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stdout.write = w.stdout;
    process.stderr.write = w.stderr;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('terminal: one line per task, redrawn with carriage returns; a nested task shares it; notes print above', async () => {
  process.env.PIAT_PROGRESS = 'tty';
  const { stderr, stdout } = await capture(async () => {
    const run = new Progress({ label: 'PGD-AT', total: 4, keepOpen: true });
    for (let i = 0; i < 4; i++) {
      run.tick(1, `loss ${i}`);
      await sleep(120);
    }
    const inner = new Progress({ label: 'evaluate', total: 2 });
    inner.tick(1, 'clean 50%');
    await sleep(120);
    note('a note');
    inner.tick(1, 'pgd20 40%');
    run.finish('PGD-AT · 4 batches · done');
    new Progress({ label: 'PIAT', total: 2 }).tick(2);
  });
  assert.doesNotMatch(stdout, /PGD-AT|PIAT/);
  assert.ok((stderr.match(/\r/g) ?? []).length >= 4, 'redrawn in place');
  assert.match(stderr, /PGD-AT › evaluate {2}50%\|/, 'the nested task draws on the enclosing line');
  assert.deepEqual(
    terminalScreen(stderr).map((l) => l.replace(/ · [\d.]+s$/, '')),
    ['a note', 'PGD-AT · 4 batches · done', 'PIAT 100%|████████████| 2/2'],
  );
});

test('log (piped): a short task prints only its summary; log() lines stay; no carriage returns', async () => {
  process.env.PIAT_PROGRESS = 'lines';
  const { stderr } = await capture(() => {
    const p = new Progress({ label: 'evaluate', total: 3, keepOpen: true });
    p.tick(1, 'clean 50%');
    p.log('one line of its own');
    p.tick(2, 'pgd20 40%');
    p.finish('evaluate · clean 50% · pgd20 40%');
  });
  assert.doesNotMatch(stderr, /\r/);
  assert.deepEqual(stderr.trim().split('\n'), ['one line of its own', 'evaluate · clean 50% · pgd20 40%']);
  const lines: string[] = [];
  const p = new Progress({ label: 'fetch', total: 3, write: (l) => lines.push(l), intervalMs: 0 });
  p.tick(1);
  p.tick(2);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^fetch {2}33% 1\/3 · [\d.]+s, ETA [\d.]+s$/);
  assert.match(lines[1], /^fetch 100% 3\/3 · [\d.]+s$/);
});

test('a line left open by an inner loop that threw closes with its task; the next task gets its own line', async () => {
  process.env.PIAT_PROGRESS = 'lines';
  const { stderr } = await capture(() => {
    const task = new Progress({ label: 'task', total: 1, keepOpen: true });
    new Progress({ label: 'inner', total: 5 }).tick(1); // never finished
    task.finish('task · failed');
    new Progress({ label: 'next', total: 1 }).tick(1);
  });
  assert.deepEqual(
    stderr
      .trim()
      .split('\n')
      .map((l) => l.replace(/ · [\d.]+s$/, '')),
    ['task · failed', 'next 100% 1/1'],
  );
});

const data = twoCircles({ perClass: 40, seed: 7 });
const testSet = twoCircles({ perClass: 20, seed: 8 });
const attack = { eps: 0.03, alpha: 0.0075, steps: 2 };
const config = (epochs: number): TrainConfig => ({
  epochs,
  batchSize: 20,
  seed: 5,
  optimizer: { lr: 0.2, momentum: 0.9 },
  eval: { n: 40, attack },
});
const model = () => mlp({ inputDim: 3, numClasses: 2, hidden: [8], seed: 2 });

test('training in a log: a start line, one line per epoch, a summary; resumed and finished runs say so', async () => {
  process.env.PIAT_PROGRESS = 'lines';
  const dir = path.join(tmpDir(), 'pgd-at');
  const first = await capture(() =>
    train({
      model: model(),
      objective: pgdAt({ attack }),
      train: data,
      test: testSet,
      config: config(3),
      runDir: dir,
      meta: { method: 'PGD-AT' },
      shouldStop: () => true,
    }),
  );
  const second = await capture(() =>
    train({
      model: model(),
      objective: pgdAt({ attack }),
      train: data,
      test: testSet,
      config: config(3),
      runDir: dir,
      meta: { method: 'PGD-AT' },
    }),
  );
  const third = await capture(() =>
    train({
      model: model(),
      objective: pgdAt({ attack }),
      train: data,
      test: testSet,
      config: config(3),
      runDir: dir,
      meta: { method: 'PGD-AT' },
    }),
  );
  const lines = (s: string) => s.trim().split('\n');
  assert.deepEqual(
    lines(first.stderr).map((l) => l.replace(/\d+(\.\d+)?%|\d+\.\d+s|0\.\d+/g, '#')),
    [
      `PGD-AT: training in ${dir}`,
      'epoch 1/3 · loss # · clean # · robust # · #',
      `stopped after epoch 1: its checkpoint is saved in ${path.join(dir, 'checkpoint')}; run again to resume`,
      'PGD-AT · stopped after epoch 1, in # · loss # · clean # · robust # · best robust # (epoch 1)',
    ],
  );
  assert.equal(lines(second.stderr)[0], `PGD-AT: resuming ${dir} after epoch 1`);
  assert.equal(lines(second.stderr).length, 4);
  assert.match(lines(second.stderr)[3], /^PGD-AT · 3 epochs in [\d.]+s \(resumed after epoch 1\) · loss /);
  assert.deepEqual(
    lines(third.stderr).map((l) => l.replace(/ · .*/, '')),
    ['PGD-AT'],
  );
  assert.match(third.stderr, /finished earlier, 3 epochs/);
  assert.doesNotMatch(first.stdout + second.stdout + third.stdout, /PGD-AT/);
});

/**
 * Makes this process look like a running tslab kernel: tslab's own display code then sends its
 * messages to `sent` (what Jupyter would receive).
 */
function fakeKernel(): { sent: { data: Record<string, string>; transient: { display_id?: string }; update: boolean }[]; stop: () => void } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
  const sent: { data: Record<string, string>; transient: { display_id?: string }; update: boolean }[] = [];
  jupyter.lastWriteDisplayData = (msg: { data: Record<string, string>; transient: { display_id?: string } }, update: boolean) =>
    sent.push({ ...msg, update });
  return { sent, stop: () => (jupyter.lastWriteDisplayData = null) };
}

test('notebook: a training run is one display, updated in place, ending as its summary; nothing on stderr', async () => {
  delete process.env.PIAT_PROGRESS;
  const kernel = fakeKernel();
  try {
    const out = await capture(() =>
      train({ model: model(), objective: pgdAt({ attack }), train: data, test: testSet, config: config(3), meta: { method: 'PIAT' } }),
    );
    assert.equal(out.stderr, '', 'nothing shown as an error');
    const ids = new Set(kernel.sent.map((m) => m.transient.display_id));
    assert.equal(ids.size, 1, 'one display for the run');
    assert.ok(!kernel.sent[0].update, 'the first message creates it');
    assert.ok(
      kernel.sent.slice(1).every((m) => m.update),
      'later messages update it',
    );
    const last = kernel.sent[kernel.sent.length - 1].data['text/plain'];
    assert.match(last, /^PIAT · 3 epochs in [\d.]+s · loss [\d.]+ · clean [\d.]+% · robust [\d.]+% · best robust [\d.]+% \(epoch \d\)$/);
    assert.ok(kernel.sent.length > 1, 'live updates before the summary');
    assert.match(kernel.sent[0].data['text/plain'], /^PIAT +\d+%\|.*\| epoch 1\/3 · batch 1\/4 · loss [\d.]+ · /);
  } finally {
    kernel.stop();
  }
});

test('notebook: an interrupt (SIGINT) stops training between batches and the run resumes from its last checkpoint', async () => {
  delete process.env.PIAT_PROGRESS;
  const kernel = fakeKernel();
  const dir = path.join(tmpDir(), 'run');
  try {
    let epochs = 0;
    const interrupted = train({
      model: model(),
      objective: pgdAt({ attack }),
      train: data,
      test: testSet,
      config: config(4),
      runDir: dir,
      onEpoch: () => ++epochs === 2 && setImmediate(() => process.emit('SIGINT')),
    });
    await assert.rejects(
      interrupted,
      (e: unknown) =>
        e instanceof PiatError &&
        e.code === 'interrupted' &&
        /interrupted at epoch 3, batch 1\. The checkpoint of epoch 2 .* is intact\. Run the cell again to resume\./.test(e.message),
    );
    assert.equal(fs.existsSync(path.join(dir, 'done.json')), false);
    assert.match(
      kernel.sent[kernel.sent.length - 1].data['text/plain'],
      /interrupted at epoch 3, batch 1 · the checkpoint of epoch 2 stands/,
    );
    const resumed = await train({
      model: model(),
      objective: pgdAt({ attack }),
      train: data,
      test: testSet,
      config: config(4),
      runDir: dir,
    });
    assert.deepEqual(
      resumed.records.map((r) => r.epoch),
      [1, 2, 3, 4],
    );
    assert.match(kernel.sent[kernel.sent.length - 1].data['text/plain'], /4 epochs in [\d.]+s \(resumed after epoch 2\)/);
  } finally {
    kernel.stop();
  }
});
