/**
 * Published numbers regenerate from committed data (src/experiments/results.ts): the committed
 * docs/results.md and the README's results section equal what the data under results/ gives, and the
 * renderer reads only that data (stale runs refused, missing files named).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT, tmpDir } from '../helpers';
import { cli } from '../run-safety-helpers';
import {
  collectResults,
  loadBetaResult,
  loadFinalEvalRuns,
  loadSearchResults,
  renderResults,
  FIG9_FIXED,
  resultDirOf,
  withReadmeSection,
  writeResults,
} from '../../src/experiments/results';
import { SEARCH_SETTINGS, searchConfig, searchRunDir } from '../../src/experiments/overfit-search';
import { fig1Config, FIG1_METHODS } from '../../src/experiments/fig1';
import { PoolConfig, poolRoot } from '../../src/experiments/pool';
import { runDirName } from '../../src/experiments/compare-methods';
import { toPerImage } from '../../src/eval/per-image';
import { evalSettingsKey, runImages } from '../../src/eval/compare-runs';
import { bestVsFinal, MethodsResult, seedStats } from '../../src/experiments/method-tables';
import { mostRobustVerdict } from '../../src/experiments/table1';
import { finalEvalComparisons, mostRobust } from '../../src/experiments/results-final';
import { betaClaims, betaSummary } from '../../src/experiments/sweeps';
import { Rng } from '../../src/util/rng';
import { benchDevice, paperCost, paperCostSection, readBench } from '../../src/experiments/paper-cost';

test('the committed docs/results.md and README results section are exactly what `npm run results` regenerates from results/', () => {
  const r = cli(['results', '--check']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /match the committed data/);
});

/** A committed-looking run at `dir`: its config as it trains, records with per-image results. */
function writeRun(dir: string, config: PoolConfig, level: (epoch: number) => number, rng: Rng): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ config: { seed: config.seed }, meta: { experiment: 'pool', profile: 'overfit', pool: config } }),
  );
  fs.writeFileSync(path.join(dir, 'done.json'), '{}');
  const n = config.testSize ?? 0;
  const difficulty = Array.from({ length: n }, () => rng.next());
  const lines = [];
  for (let epoch = 10; epoch <= config.epochs; epoch += 10) {
    const flags = difficulty.map((d) => d < level(epoch) !== rng.next() < 0.1);
    const acc = flags.filter(Boolean).length / n;
    lines.push(
      JSON.stringify({
        epoch,
        lr: 0.05,
        loss: { total: 1 },
        cleanAcc: acc,
        robustAcc: acc,
        valRobustAcc: level(epoch) + 0.01 * rng.normal(),
        trainRobustAcc: 0.9,
        trainSeconds: 1,
        evalSeconds: 1,
        perImage: { test: { clean: toPerImage(flags), robust: toPerImage(flags) } },
      }),
    );
  }
  fs.writeFileSync(path.join(dir, 'records.jsonl'), lines.join('\n') + '\n');
}

/** A search setting's run of one seed, where results/ keeps it. */
function writeSearchRun(root: string, setting: string, seed: number, level: (epoch: number) => number, rng: Rng): string {
  const s = SEARCH_SETTINGS.find((x) => x.name === setting);
  assert.ok(s);
  const dir = resultDirOf(searchRunDir('overfit', setting, seed), root);
  writeRun(dir, searchConfig('overfit', s, seed), level, rng);
  return dir;
}

test('results render from committed runs alone: the premise table, per-seed rows and the README section; stale or incomplete runs are refused', () => {
  const root = tmpDir('piat-results-');
  const rng = new Rng(21);
  const setting = SEARCH_SETTINGS.find((x) => (x.overrides.validationSize ?? 0) > 0)?.name as string;
  const falls = (e: number) => (e <= 40 ? 0.4 + 0.0025 * e : 0.5 - 0.001 * (e - 40));
  const dirs = [1, 2, 3, 4, 5, 6].map((seed) => writeSearchRun(root, setting, seed, falls, rng));
  assert.equal(loadSearchResults(root).length, 6);
  const { doc, readme } = renderResults(root);
  assert.match(doc, new RegExp(`\\| ${setting} \\| 1, 2, 3, 4, 5, 6 \\| `));
  assert.match(doc, /\| seed \| Best epoch \| robust at Best \|/);
  assert.match(
    readme,
    new RegExp(`- "PGD-AT overfits robustly" at ${setting}, 6 seeds: Best − Final \\+\\d+\\.\\d points, 95 % interval \\[`),
  );
  // writing, then checking: nothing differs; a hand edit is caught
  const docFile = path.join(root, 'results.md');
  const readmeFile = path.join(root, 'README.md');
  fs.writeFileSync(
    readmeFile,
    '# x\n<!-- results:start -->\n<!-- results:end -->\nend\n<!-- paper-cost:start -->\n<!-- paper-cost:end -->\n',
  );
  // docs/results.md, the README and the paper-cost file the notebook runner reads
  assert.deepEqual(writeResults({ resultsDir: root, doc: docFile, readme: readmeFile }).length, 3);
  assert.deepEqual(writeResults({ resultsDir: root, doc: docFile, readme: readmeFile, check: true }), []);
  fs.appendFileSync(docFile, 'edited by hand\n');
  assert.deepEqual(writeResults({ resultsDir: root, doc: docFile, readme: readmeFile, check: true }), [docFile]);
  assert.match(
    fs.readFileSync(readmeFile, 'utf8'),
    /^# x\n<!-- results:start -->\nEvery verdict below is paired[^]*<!-- results:end -->\nend\n<!-- paper-cost:start -->\nProjected from [^]*\| `03-table1-resnet18` \| 20 \| [^]*<!-- paper-cost:end -->\n$/,
  );
  const cost = JSON.parse(fs.readFileSync(path.join(root, 'paper-cost.json'), 'utf8'));
  assert.ok(cost.notebooks.every((n: { cellTimeoutSeconds: number }) => n.cellTimeoutSeconds >= 7200));
  assert.throws(() => withReadmeSection('no markers', 'x'), /no results section/);
  // a run trained under other settings, and a run missing a file
  const cfg = path.join(dirs[0], 'config.json');
  const c = JSON.parse(fs.readFileSync(cfg, 'utf8'));
  c.meta.pool.epochs = 7;
  fs.writeFileSync(cfg, JSON.stringify(c));
  assert.throws(() => loadSearchResults(root), /trained under other settings/);
  fs.rmSync(dirs[0], { recursive: true });
  fs.rmSync(path.join(dirs[1], 'done.json'));
  assert.throws(() => loadSearchResults(root), /done\.json is missing/);
});

test('Fig. 1 renders from the committed pool runs of the overfit profile, over the seeds that have all four methods', () => {
  const root = tmpDir('piat-results-');
  const rng = new Rng(22);
  const c = fig1Config('overfit');
  const level = (m: string) => (m === 'PIAT+NMSE' ? () => 0.5 : (e: number) => (e <= 40 ? 0.4 + 0.0025 * e : 0.5 - 0.001 * (e - 40)));
  for (const seed of [1, 2, 3])
    for (const m of FIG1_METHODS)
      if (!(seed === 3 && m === 'MART'))
        writeRun(resultDirOf(path.join(poolRoot('overfit', { ...c, seed }), runDirName(m)), root), { ...c, seed }, level(m), rng);
  const { doc, readme } = renderResults(root);
  assert.match(doc, /## Fig\. 1 at the overfit profile \(notebook 02\), 2 seeds/);
  assert.match(doc, /seeds 1, 2 \(the seeds for which all four are committed\)/);
  assert.match(doc, /\| method \| best robust \|/);
  assert.match(
    readme,
    /- Fig\. 1 \(2 seeds\), robust accuracy falls after its peak \(Best vs Final\): PGD-AT (holds|inconclusive|does not hold), TRADES/,
  );
});

test("Fig. 9 renders the dynamic β against each fixed β and the notebook's own claims, on the seeds where every schedule is committed", () => {
  const root = tmpDir('piat-results-');
  const rng = new Rng(23);
  const c = fig1Config('overfit');
  const put = (m: string, seed: number, level: (e: number) => number) =>
    writeRun(resultDirOf(path.join(poolRoot('overfit', { ...c, seed }), runDirName(m)), root), { ...c, seed }, level, rng);
  for (const seed of [1, 2, 3]) {
    for (const m of FIG1_METHODS) put(m, seed, () => 0.5);
    // the small fixed β falls after its peak; the dynamic one holds its level
    put(FIG9_FIXED[0], seed, (e) => (e <= 60 ? 0.5 : 0.5 - 0.002 * (e - 60)));
    put(FIG9_FIXED[2], seed, () => 0.5);
  }
  // β = 0.6 at seeds 1 and 2 only: seed 3 has the pairwise β = 0.3 and 0.9 comparisons but not the notebook's claims
  for (const seed of [1, 2]) put(FIG9_FIXED[1], seed, () => 0.5);
  const { doc, readme } = renderResults(root);
  assert.match(doc, /## Fig\. 9 at the overfit profile \(notebook 10\): the dynamic β against each fixed β/);
  assert.match(doc, /\| fixed β \| seeds \| dynamic − fixed at Best \|/);
  assert.match(doc, /\| β=0\.3 \| 1, 2, 3 \|/);
  assert.match(doc, /\| β=0\.6 \| 1, 2 \|/);
  assert.match(doc, /### The notebook's claims, 2 seeds \(1, 2: those for which every schedule is committed\)/);
  // the notebook's own summary of the same runs
  const r = loadBetaResult(root);
  assert.ok(r);
  assert.deepEqual(
    r.seedRuns.map((x) => x.seed),
    [1, 2],
  );
  assert.ok(doc.includes(betaSummary(r, 'overfit')));
  const claims = betaClaims(r);
  assert.equal(claims.length, 3);
  assert.equal(
    readme.split('\n').find((l) => l.startsWith('- Fig. 9')),
    `- Fig. 9 (2 seeds, overfit profile, per-epoch PGD on 1000 test images): ${claims.map((x) => `${x.claim}: **${x.verdict}**`).join('; ')}.`,
  );
});

/** A run's final evaluation of one checkpoint, as the pool caches it: per attack, accuracy and per-image correctness. */
function writeFinalEval(dir: string, which: 'best' | 'final', level: number, rng: Rng, o: { n?: number; settings?: unknown } = {}): void {
  const n = o.n ?? 1000;
  const rows = ['clean', 'pgd20', 'cw20', 'aa'].map((attack, i) => {
    const flags = Array.from({ length: n }, (_, j) => j / n < level + 0.3 - 0.1 * i !== rng.next() < 0.05);
    return { attack, accuracy: flags.filter(Boolean).length / n, n, seconds: 1, perImage: toPerImage(flags) };
  });
  const key = evalSettingsKey(o.settings ?? fig1Config('overfit').final);
  fs.writeFileSync(path.join(dir, `eval-${which}-${key}-w${which}.json`), JSON.stringify(rows));
}

/** Notebook 03's MethodsResult from the same evaluation files, as runMethodsOn builds it (its rows and per-seed stats). */
function notebookResult(root: string, seeds: number[]): MethodsResult {
  const c = fig1Config('overfit');
  const settings = evalSettingsKey(c.final);
  const perSeed = seeds.map((seed) =>
    FIG1_METHODS.flatMap((method) =>
      c.final.attacks.map((attack) => {
        const dir = resultDirOf(path.join(poolRoot('overfit', { ...c, seed }), runDirName(method)), root);
        const [b, f] = (['best', 'final'] as const).map((which) => runImages(dir, { which, attack, settings }).flags);
        const pct = (x: Uint8Array) => (100 * x.reduce((s, v) => s + v, 0)) / x.length;
        return {
          dataset: c.dataset,
          method,
          attack,
          best: pct(b),
          final: pct(f),
          diff: pct(b) - pct(f),
          seed,
          bestImages: b,
          finalImages: f,
        };
      }),
    ),
  );
  const stats = seedStats(perSeed, c.final.n);
  return { profile: 'overfit', dataset: c.dataset, config: c, runs: [], seedRuns: [], rows: perSeed[0], stats };
}

test("Table I's final evaluation renders from the committed eval files: Best / Final per attack and paired comparisons with PGD-AT", () => {
  const root = tmpDir('piat-results-');
  const rng = new Rng(24);
  const c = fig1Config('overfit');
  for (const seed of [1, 2, 3, 4])
    for (const m of FIG1_METHODS) {
      const dir = resultDirOf(path.join(poolRoot('overfit', { ...c, seed }), runDirName(m)), root);
      writeRun(dir, { ...c, seed }, () => 0.5, rng);
      // seed 4: MART's evaluation is not committed, so seed 4 is left out for every method
      if (seed === 4 && m === 'MART') continue;
      // PGD-AT falls 6 points from Best to Final; MART ends 5 points above it; PIAT+NMSE's last epoch is its Best
      const final = m === 'PGD-AT' ? 0.34 : m === 'MART' ? 0.45 : 0.4;
      writeFinalEval(dir, 'best', 0.4, rng);
      if (m === 'PIAT+NMSE') fs.writeFileSync(path.join(dir, 'done.json'), JSON.stringify({ epochs: 120, best: { epoch: 120 } }));
      else writeFinalEval(dir, 'final', final, rng);
      // an evaluation under other settings (an older final-evaluation config) is never read
      writeFinalEval(dir, 'final', 0.9, rng, { settings: { other: true } });
    }
  const { doc, readme } = renderResults(root);
  // the notebook's own functions on the same files give the same verdicts and intervals
  const nb = notebookResult(root, [1, 2, 3]);
  const most = mostRobust(loadFinalEvalRuns(root), 'PIAT+NMSE', ['PGD-AT', 'TRADES', 'MART'], c.final);
  assert.equal(most.length, 6);
  for (const m of most) assert.equal(m.verdict, mostRobustVerdict(nb, m.attack, m.which), `${m.attack} ${m.which}`);
  const finals = finalEvalComparisons(loadFinalEvalRuns(root), [...FIG1_METHODS], c.final, 'PGD-AT');
  for (const x of finals) {
    const bf = bestVsFinal(nb, x.method, x.attack);
    assert.deepEqual([x.bestVsFinal.diff, x.bestVsFinal.interval, x.bestVsFinal.verdict], [bf?.diff, bf?.interval, bf?.verdict]);
  }
  assert.match(doc, /## Table I at the overfit profile \(notebook 03\): the final evaluation of Best and Final/);
  assert.match(doc, /\| method \| seeds \| Clean \| PGD-20 \| CW-20 \| AA \|/);
  // PIAT+NMSE's Final is its Best: the same numbers, read from its one evaluation
  assert.match(doc, /\| PIAT\+NMSE \| 1, 2, 3 \| (\d+\.\d) \/ \1 \| /);
  assert.match(doc, /\| PGD-AT \| PGD-20 \| 1, 2, 3 \| \+\d\.\d points, 95 % interval \[[^|]+, \*\*holds\*\* \| – \| – \|/);
  assert.match(doc, /The final PGD-20\/CW\/AutoAttack evaluations of notebook 03 are in the next section/);
  // the notebook's claims, as it prints them: PIAT+NMSE above every other method (MART ends above it), and Best − Final under AA
  assert.match(
    readme,
    /- Table I at the overfit profile \(notebook 03's final evaluation, 3 seeds, 1000 test images, AA \(apgd-ce \+ apgd-t, 20 iterations, 3 targets\)\): "PIAT\+NMSE is the most robust" \(above every other method, paired\): PGD-20 Best \*\*(inconclusive|does not hold)\*\*, Final \*\*does not hold\*\*; CW-20 [^;]+; AA [^.]+\./,
  );
  assert.match(
    readme,
    /robust accuracy falls from Best to Final under AA \(points, 95 % interval\): PGD-AT \+\d\.\d \[\+\d\.\d, \+\d\.\d\] \*\*holds\*\*; TRADES /,
  );
  assert.match(doc, /### "PIAT\+NMSE is the most robust" \(the notebook's claim/);
  assert.match(doc, /\| attack \| weights \| PIAT\+NMSE − PGD-AT \| PIAT\+NMSE − TRADES \| PIAT\+NMSE − MART \| verdict \|/);
  // a run without its evaluation leaves the section out, and the per-epoch section says so
  const bare = tmpDir('piat-results-');
  for (const seed of [1, 2])
    for (const m of FIG1_METHODS)
      writeRun(resultDirOf(path.join(poolRoot('overfit', { ...c, seed }), runDirName(m)), bare), { ...c, seed }, () => 0.5, rng);
  const none = renderResults(bare);
  assert.doesNotMatch(none.doc, /## Table I at the overfit profile \(notebook 03\)/);
  assert.match(none.doc, /are not part of the committed data yet/);
});

test('the results data holds no weights', () => {
  const dir = path.join(REPO_ROOT, 'results');
  if (!fs.existsSync(dir)) return;
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  const weights = walk(dir).filter((f) => /weights\.bin$|model\.json$|\.bin$/.test(f));
  assert.deepEqual(weights, []);
});

test("collecting a finished run keeps its config, records, done.json and final evaluations, never its weights or AutoAttack's resume state", () => {
  const runs = tmpDir('piat-runs-');
  const results = tmpDir('piat-results-');
  const prev = process.env.PIAT_RUNS;
  process.env.PIAT_RUNS = runs;
  try {
    const c = fig1Config('overfit');
    const dir = path.join(poolRoot('overfit', { ...c, seed: 1 }), runDirName('PGD-AT'));
    writeRun(dir, { ...c, seed: 1 }, () => 0.5, new Rng(23));
    const k = evalSettingsKey(c.final);
    // the evaluations under the current settings are kept; one under older settings, AutoAttack's state and weights are not
    const files = [
      `eval-best-${k}-abc.json`,
      `eval-final-${k}-def.json`,
      `eval-final-${k}-def.aa-state.json`,
      'eval-final-0123456789ab-def.json',
      'best/weights.bin',
    ];
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), '[]');
    }
    const [to] = collectResults(results);
    assert.deepEqual(fs.readdirSync(to).sort(), [
      'config.json',
      'done.json',
      `eval-best-${k}-abc.json`,
      `eval-final-${k}-def.json`,
      'records.jsonl',
    ]);
  } finally {
    if (prev === undefined) delete process.env.PIAT_RUNS;
    else process.env.PIAT_RUNS = prev;
  }
});

test('the paper-cost table gains a column for the fused model where the bench timed it, and says GPU or CPU hours from the bench header', () => {
  const file = path.join(tmpDir(), 'bench.md');
  const rows = (backend: string, ips: number) =>
    ['forward', 'input-grad', 'pgd10-train'].map((c, i) => `| resnet18 | ${c} | ${backend} | 16 | ${ips * (3 - i)} | 1.0 | |`);
  // the bench's kernel-call table has a backend column too; its numbers are not throughputs
  const calls = [
    '',
    '| model | case | backend | threads | kernel calls | in kernels | rest | rest per call |',
    '|---|---|---|---|---|---|---|---|',
  ];
  calls.push(
    '| resnet18 | pgd10-train | torch | 16 | 2445 | 1.00 s | 0.10 s | 40 µs |',
    '| resnet18 | pgd10-train | torch fused | 16 | 142 | 1.00 s | 0.01 s | 70 µs |',
  );
  const header = (device: string) => [
    `PyTorch 2.11.0 (/usr/bin/python3) on ${device} at 16 thread(s), same batch and architectures`,
    '',
    '| model | case | backend | threads | img/s | GFLOP/s | × PyTorch (same threads) |',
    '|---|---|---|---|---|---|---|',
  ];
  const head = header('cuda');
  fs.writeFileSync(file, [...head, ...rows('torch', 100), ...rows('torch fused', 200), ...rows('pytorch', 300), ...calls].join('\n'));
  assert.equal(benchDevice(file), 'cuda');
  const costs = paperCost(readBench(file));
  assert.match(
    paperCostSection(costs, file),
    /\| notebook \| new runs \| GPU hours, piat-ts \(torch\) \| GPU hours, piat-ts \(torch, PIAT_FUSED_MODEL=1\) \| GPU hours, PyTorch \| cell timeout \|/,
  );
  const table1 = costs.find((c) => c.notebook === '03-table1-resnet18')!;
  assert.ok(Math.abs(table1.hours.torch! / table1.hours['torch fused']! - 2) < 1e-9, 'twice the throughput, half the hours');
  fs.writeFileSync(file, [...head, ...rows('torch', 100), ...rows('pytorch', 300)].join('\n'));
  assert.doesNotMatch(paperCostSection(paperCost(readBench(file)), file), /FUSED/);
  // a CPU bench projects CPU hours, not GPU hours
  fs.writeFileSync(file, [...header('cpu'), ...rows('torch', 100), ...rows('pytorch', 300)].join('\n'));
  assert.equal(benchDevice(file), 'cpu');
  const cpu = paperCostSection(paperCost(readBench(file)), file);
  assert.match(cpu, /\| CPU hours, piat-ts \(torch\) \| CPU hours, PyTorch \|/);
  assert.doesNotMatch(cpu, /GPU hours/);
});
