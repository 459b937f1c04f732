/**
 * Do the committed runs regenerate? `piat results --verify` re-trains the first epochs of each
 * committed run from its settings, with this code on this machine, and compares every number of those
 * epochs' records (losses, learning rate, β, accuracies and per-image results; not timings) with the
 * committed ones, bit for bit. What it found goes to results/verification.json, and the README's
 * results section says from that file which runs regenerate (results.ts renders it; nothing trains there).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backendInfo, computeIdentity, setComputeThreads } from '../backend';
import { readRecordsFile } from '../train/records';
import { PiatError } from '../util/errors';
import { readJson, sha256, writeFileAtomic } from '../util/fsx';
import { sourceRevision } from '../util/environment';
import { runDirName } from './compare-methods';
import { poolData, trainPool } from './pool';
import { PublishedRun, publishedRuns, resultDirOf, RESULTS_DIR } from './published-runs';

/** One committed run re-trained for its first epochs. */
export interface RunVerification {
  /** its folder under results/ (relative) */
  run: string;
  method: string;
  seed: number;
  setting?: string;
  /** epochs re-trained and compared */
  epochs: number;
  identical: boolean;
  /** the first difference: what differs, the committed value and the re-trained one */
  difference?: string;
  /** checksum of the committed records.jsonl compared: a run collected again since is not verified by this entry */
  records: string;
  /** the code that re-trained it (the git commit, and whether src/ or native/ had changes) */
  source: { commit: string; modified: boolean } | null;
  checkedAt: string;
}

export const VERIFICATION_FILE = 'verification.json';

/** Every number of a record except its timings, as stable JSON. */
function comparable(r: object): Record<string, unknown> {
  const { trainSeconds: _t, evalSeconds: _e, ...rest } = r as Record<string, unknown>;
  return rest;
}

/** The first place where `a` and `b` differ ("loss.total: 2.85 vs 2.86"), or undefined when they are the same. */
export function firstDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  if (Object.is(a, b)) return undefined;
  const show = (v: unknown) => (typeof v === 'string' && v.length > 24 ? `${v.slice(0, 21)}…` : JSON.stringify(v));
  return `${at || 'value'}: ${show(a)} committed, ${show(b)} re-trained`;
}

/** The backend a committed run names (config.json): the name, ATen's threads and the path. */
function trainedOn(dir: string): { identity: string; threads?: number } {
  const c = readJson<{ identity?: { backend?: string }; backend?: { torch?: { threads?: number } } }>(path.join(dir, 'config.json'));
  return { identity: c.identity?.backend ?? '?', threads: c.backend?.torch?.threads };
}

/** Refuses, naming the fix, when this process cannot give the run's numbers: another backend or path. */
function checkSameBackend(dir: string): void {
  const want = trainedOn(dir);
  const have = computeIdentity();
  if (want.identity !== have)
    throw new PiatError(
      'bad-option',
      `${dir} was trained on ${want.identity}, this process runs ${have}: re-train it with the same backend (PIAT_BACKEND, PIAT_FUSED_MODEL)`,
    );
}

/** Runs `f` with ATen's thread count the run recorded (a sum's order depends on it), then sets it back. */
async function withRunThreads<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const want = trainedOn(dir).threads;
  const have = backendInfo().torch?.threads;
  if (want === undefined || have === undefined || want === have) return f();
  setComputeThreads(want);
  try {
    return await f();
  } finally {
    setComputeThreads(have);
  }
}

/**
 * Whether a run's folder (relative to results/) matches `--runs`: whole folder names, so that
 * `seed-1/piat` is PIAT's run of seed 1 and not PIAT+NMSE's, `pgd-at` every PGD-AT run, `seed-2` all of seed 2.
 */
export function runMatches(rel: string, match: string): boolean {
  const want = match.replace(/^\/+|\/+$/g, '');
  return `/${rel}/`.includes(`/${want}/`);
}

/** The committed runs `--verify` would re-train: every published run results/ holds, optionally only those matching `match` (runMatches). */
export function committedRuns(o: { match?: string; resultsDir?: string } = {}): (PublishedRun & { resultDir: string })[] {
  const resultsDir = o.resultsDir ?? RESULTS_DIR;
  return publishedRuns()
    .map((r) => ({ ...r, resultDir: resultDirOf(r.runDir, resultsDir) }))
    .filter((r) => fs.existsSync(path.join(r.resultDir, 'done.json')))
    .filter((r) => !o.match || runMatches(path.relative(resultsDir, r.resultDir), o.match));
}

/** Re-trains one committed run's first `epochs` epochs in a temporary folder and compares its records and settings. */
export async function verifyRun(
  r: PublishedRun & { resultDir: string },
  o: { epochs: number; resultsDir?: string; progress?: boolean },
): Promise<RunVerification> {
  checkSameBackend(r.resultDir);
  const committed = readRecordsFile(r.resultDir);
  const epochs = Math.min(o.epochs, committed.length);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'piat-verify-'));
  const sweep = process.env.PIAT_SWEEP;
  // the re-training runs here, in this process: not handed to workers or Slurm
  process.env.PIAT_SWEEP = 'local';
  try {
    await withRunThreads(r.resultDir, () =>
      trainPool('overfit', r.config, [r.method], { root: tmp, data: poolData(r.config), stopAfterEpochs: epochs, progress: o.progress }),
    );
    const dir = path.join(tmp, runDirName(r.label));
    const identity = (d: string) => readJson<{ identity?: unknown }>(path.join(d, 'config.json')).identity;
    const fresh = readRecordsFile(dir).slice(0, epochs);
    let difference = firstDifference(identity(r.resultDir), identity(dir));
    if (difference) difference = `settings differ (${difference})`;
    for (let i = 0; i < epochs && !difference; i++) {
      const d = firstDifference(comparable(committed[i]), fresh[i] ? comparable(fresh[i]) : undefined);
      if (d) difference = `epoch ${committed[i].epoch} ${d}`;
    }
    return {
      run: path.relative(o.resultsDir ?? RESULTS_DIR, r.resultDir),
      method: r.label,
      seed: r.config.seed,
      ...(r.setting ? { setting: r.setting } : {}),
      epochs,
      identical: !difference,
      ...(difference ? { difference } : {}),
      records: recordsChecksum(r.resultDir),
      source: sourceRevision(),
      checkedAt: new Date().toISOString(),
    };
  } finally {
    if (sweep === undefined) delete process.env.PIAT_SWEEP;
    else process.env.PIAT_SWEEP = sweep;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The checksum a verification keeps of the committed records it compared. */
export function recordsChecksum(resultDir: string): string {
  return sha256(fs.readFileSync(path.join(resultDir, 'records.jsonl'))).slice(0, 16);
}

/** results/verification.json's entries ([] when there is none). */
export function readVerifications(resultsDir = RESULTS_DIR): RunVerification[] {
  const file = path.join(resultsDir, VERIFICATION_FILE);
  return fs.existsSync(file) ? readJson<RunVerification[]>(file) : [];
}

/** The committed runs `--verify` re-trains: those matching `match` (runMatches), and with `unchecked` only those without a current check. */
export function runsToVerify(o: { match?: string; unchecked?: boolean; resultsDir?: string }): (PublishedRun & { resultDir: string })[] {
  const resultsDir = o.resultsDir ?? RESULTS_DIR;
  const matching = committedRuns({ match: o.match, resultsDir });
  if (!matching.length)
    throw new PiatError(
      'missing-file',
      `no committed run under ${resultsDir}${o.match ? ` has the folders '${o.match}' in its path` : ''}`,
    );
  if (!o.unchecked) return matching;
  const checked = new Set(verificationState(resultsDir).flatMap((x) => (x.v ? [x.run] : [])));
  return matching.filter((r) => !checked.has(path.relative(resultsDir, r.resultDir)));
}

/**
 * Re-trains each committed run (or those matching) for its first epochs and merges what it found into
 * results/verification.json, one entry per run (a run checked again replaces its entry); `onRun` sees each.
 */
export async function verifyResults(o: {
  epochs: number;
  match?: string;
  /** only the runs without a current check (never checked, or collected again since) */
  unchecked?: boolean;
  resultsDir?: string;
  progress?: boolean;
  onRun?: (v: RunVerification, i: number, total: number) => void;
}): Promise<RunVerification[]> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1)
    throw new PiatError('bad-option', `--epochs must be a positive integer, got ${o.epochs}`);
  const resultsDir = o.resultsDir ?? RESULTS_DIR;
  const runs = runsToVerify({ ...o, resultsDir });
  // every run's backend is checked before any trains
  for (const r of runs) checkSameBackend(r.resultDir);
  const out: RunVerification[] = [];
  for (const [i, r] of runs.entries()) {
    const v = await verifyRun(r, { epochs: o.epochs, resultsDir, progress: o.progress });
    out.push(v);
    // written after each run: an interrupted check keeps what it found
    const kept = readVerifications(resultsDir).filter((x) => x.run !== v.run);
    writeFileAtomic(
      path.join(resultsDir, VERIFICATION_FILE),
      JSON.stringify(
        [...kept, v].sort((a, b) => a.run.localeCompare(b.run)),
        null,
        2,
      ) + '\n',
    );
    o.onRun?.(v, i, runs.length);
  }
  return out;
}

/** What results/verification.json says of each committed run now: checked (identical or not) or not checked (never, or its records changed since). */
function verificationState(resultsDir: string) {
  const entries = new Map(readVerifications(resultsDir).map((v) => [v.run, v]));
  return committedRuns({ resultsDir }).map((r) => {
    const run = path.relative(resultsDir, r.resultDir);
    const v = entries.get(run);
    return { run, r, v: v && v.records === recordsChecksum(r.resultDir) ? v : undefined };
  });
}

/** "PGD-AT seeds 1, 2; TRADES seed 3; PGD-AT at <setting> seed 1". */
function groupRuns(xs: { r: PublishedRun }[]): string {
  const by = new Map<string, number[]>();
  for (const { r } of xs) {
    const k = r.setting ? `${r.label} at ${r.setting}` : r.label;
    by.set(k, [...(by.get(k) ?? []), r.config.seed]);
  }
  return [...by].map(([k, s]) => `${k} seed${s.length > 1 ? 's' : ''} ${seedRanges(s)}`).join('; ');
}

/** "1–4, 6" for seeds 1, 2, 3, 4, 6. */
function seedRanges(seeds: number[]): string {
  const s = [...seeds].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(j - i >= 2 ? `${s[i]}–${s[j]}` : s.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return out.join(', ');
}

const short = (v: RunVerification) => (v.source ? `${v.source.commit.slice(0, 7)}${v.source.modified ? ' (modified)' : ''}` : 'unknown');

/** The README's line and docs/results.md's section on which committed runs regenerate, from results/verification.json alone. */
export function verificationSection(resultsDir = RESULTS_DIR): { lines: string[]; doc: string[] } {
  const state = verificationState(resultsDir);
  if (!state.length) return { lines: [], doc: [] };
  const checked = state.filter((x) => x.v);
  const same = checked.filter((x) => x.v!.identical);
  const differ = checked.filter((x) => !x.v!.identical);
  const unchecked = state.filter((x) => !x.v);
  const commits = [...new Set(checked.map((x) => short(x.v!)))];
  const epochs = [...new Set(checked.map((x) => x.v!.epochs))];
  const command = '`node dist/src/cli.js results --verify`';
  const line = checked.length
    ? `- Do the committed runs regenerate? Re-training their first ${epochs.join(' or ')} epoch${epochs.length === 1 && epochs[0] === 1 ? '' : 's'} (${command}, at ${commits.join(', ')}): ${same.length} of ${checked.length} checked give the committed records bit for bit${differ.length ? `; ${differ.length} ${differ.length === 1 ? 'does' : 'do'} not (${groupRuns(differ)})` : ''}${unchecked.length ? `; ${unchecked.length} not checked (${groupRuns(unchecked)})` : ''}.`
    : `- Do the committed runs regenerate? None of the ${state.length} committed runs has been re-trained to check (${command}).`;
  const doc = [
    '## Do the committed runs regenerate?',
    '',
    `${command} re-trains the first epochs of each committed run from its recorded settings (on the backend and path it records, refused otherwise, and with the thread count it records) and compares every number of those epochs' records with the committed ones, bit for bit, timings aside: losses, learning rate and β, and, when the epochs compared include an evaluated one (every 10th at the overfit profile: \`--epochs 10\`), accuracies and per-image results. results/verification.json keeps what it found. A run collected again since its check counts as not checked.`,
    '',
    '| run | epochs | regenerates | first difference | code | checked |',
    '|---|---|---|---|---|---|',
    ...state.map(({ run, v }) =>
      v
        ? `| ${run} | ${v.epochs} | ${v.identical ? 'yes' : '**no**'} | ${v.difference ?? ''} | ${short(v)} | ${v.checkedAt.slice(0, 10)} |`
        : `| ${run} | | not checked | | | |`,
    ),
    '',
  ];
  return { lines: [line], doc };
}
