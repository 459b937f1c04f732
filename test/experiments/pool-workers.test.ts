/** PIAT_SWEEP=workers: the notebook pool's missing runs train (and evaluate) in parallel processes. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { backendInfo } from '../../src/backend';
import { poolConfig, poolRoot, trainPoolSeeds } from '../../src/experiments/pool';
import { runMethodsOn } from '../../src/experiments/method-tables';
import { runDirName } from '../../src/experiments/compare-methods';
import { workerPlan } from '../../src/sweep/workers';
import { PiatError } from '../../src/util/errors';
import { setup, tmpDir, withEnv } from '../helpers';
import { strip } from '../run-safety-helpers';

before(setup);

test('worker count and threads: one worker per core by default, PIAT_WORKERS and PIAT_WORKER_THREADS override, bad values are named', () => {
  assert.deepEqual(workerPlan(12, {}, 4), { workers: 4, threads: 1 });
  assert.deepEqual(workerPlan(12, { PIAT_WORKERS: '2' }, 8), { workers: 2, threads: 4 });
  assert.deepEqual(workerPlan(1, {}, 8), { workers: 1, threads: 8 }, 'never more workers than runs');
  assert.deepEqual(workerPlan(6, { PIAT_WORKERS: '3', PIAT_WORKER_THREADS: '1' }, 16), { workers: 3, threads: 1 });
  assert.throws(() => workerPlan(4, { PIAT_WORKERS: '0' }), /PIAT_WORKERS must be a whole number ≥ 1, got '0'/);
  assert.throws(() => workerPlan(4, { PIAT_WORKER_THREADS: 'two' }), /PIAT_WORKER_THREADS must be a whole number ≥ 1, got 'two'/);
});

test(
  'workers train and evaluate every run a table needs; the table equals the one trained in this process',
  { timeout: 10 * 60_000 },
  async () => {
    const work = tmpDir('piat-workers-');
    const methods = ['PGD-AT', 'TRADES'];
    // the same ATen thread count in the workers as here, so both trainings do the same arithmetic
    const threads = String(backendInfo()?.torch?.threads ?? 1);
    const config = poolConfig('smoke');
    const viaWorkers = await withEnv(
      { PIAT_RUNS: path.join(work, 'workers'), PIAT_SWEEP: 'workers', PIAT_WORKERS: '2', PIAT_WORKER_THREADS: threads },
      async () => {
        await trainPoolSeeds('smoke', config, methods, { progress: false, evaluate: true });
        for (const m of methods) {
          const dir = path.join(poolRoot('smoke', config), runDirName(m));
          assert.ok(fs.existsSync(path.join(dir, 'done.json')), `${m}: trained by a worker`);
          assert.ok(
            fs.readdirSync(dir).some((n) => /^eval-(best|final)-.*\.json$/.test(n)),
            `${m}: evaluated by its worker`,
          );
          assert.match(
            fs.readFileSync(
              path.join(poolRoot('smoke', config), 'workers', `${config.dataset}-${config.arch}-${runDirName(m)}.log`),
              'utf8',
            ),
            /pool task .*→/,
          );
        }
        // everything is cached now: the table only reads
        return runMethodsOn('smoke', config.dataset, methods, { progress: false });
      },
    );
    const here = await withEnv({ PIAT_RUNS: path.join(work, 'local'), PIAT_SWEEP: 'local' }, () =>
      runMethodsOn('smoke', config.dataset, methods, { progress: false }),
    );
    assert.deepEqual(viaWorkers.rows, here.rows);
    for (let k = 0; k < methods.length; k++) assert.deepEqual(strip(viaWorkers.runs[k].records), strip(here.runs[k].records), methods[k]);
  },
);

test('a run that fails in its worker is named with its log, after the others finish', { timeout: 5 * 60_000 }, async () => {
  const work = tmpDir('piat-workers-fail-');
  const config = poolConfig('smoke');
  let message = '';
  await withEnv({ PIAT_RUNS: work, PIAT_SWEEP: 'workers', PIAT_WORKERS: '2' }, () =>
    assert.rejects(
      trainPoolSeeds('smoke', config, ['NO-SUCH-METHOD', 'PGD-AT'], { progress: false }),
      (e) => ((message = (e as Error).message), e instanceof PiatError && e.code === 'worker-failed'),
    ),
  );
  assert.match(message, /1 of 2 runs failed; the others finished and are kept/);
  assert.match(
    message,
    /--- NO-SUCH-METHOD · seed 1 \(exit \d+\), .*no-such-method\.log:\npiat: Unknown method 'NO-SUCH-METHOD'\. Expected one of: PGD-AT,/,
  );
  await withEnv({ PIAT_RUNS: work }, async () => assert.ok(fs.existsSync(path.join(poolRoot('smoke', config), 'pgd-at', 'done.json'))));
});

test('Ctrl-C stops the workers and starts no more; executing again finishes the runs', { timeout: 5 * 60_000 }, async () => {
  const work = tmpDir('piat-workers-int-');
  const config = { ...poolConfig('smoke'), epochs: 6 };
  const methods = ['PGD-AT', 'TRADES', 'MART'];
  await withEnv({ PIAT_RUNS: work, PIAT_SWEEP: 'workers', PIAT_WORKERS: '2' }, async () => {
    const dirs = methods.map((m) => path.join(poolRoot('smoke', config), runDirName(m)));
    // Ctrl-C once the first worker has saved an epoch
    const timer = setInterval(() => {
      if (dirs.some((d) => fs.existsSync(path.join(d, 'records.jsonl')))) {
        clearInterval(timer);
        process.emit('SIGINT');
      }
    }, 100);
    await assert.rejects(
      trainPoolSeeds('smoke', config, methods, { progress: false }),
      (e) => e instanceof PiatError && e.code === 'interrupted' && /each run's last saved checkpoint stands/.test(e.message),
    );
    clearInterval(timer);
    assert.equal(process.listenerCount('SIGINT'), 0, 'the Ctrl-C listener is removed');
    assert.ok(!fs.existsSync(path.join(dirs[2], 'records.jsonl')), 'the third run never started');
    const runs = await trainPoolSeeds('smoke', config, methods, { progress: false });
    assert.deepEqual(
      runs[0].runs.map((r) => r.records.length),
      [6, 6, 6],
    );
  });
});
