/**
 * What every notebook's first cell does: start the backend, read the profile, and state in one
 * markdown block what runs (profile, backend, data, model and training, methods, evaluation) and
 * what the paper reported. `openPoolNotebook` is the header of the notebooks that train from the
 * shared pool (03–10); `openNotebook` and `profileLine` serve the others (the toy example).
 */
import * as fs from 'fs';
import * as path from 'path';
import { BackendInfo, initBackend } from '../backend';
import { DatasetName } from '../data/images';
import { describeSchedule } from '../train/lr';
import { showMarkdown } from '../plots/display';
import { PiatError } from '../util/errors';
import { Profile, profileFromEnv, PROJECT_ROOT } from './profiles';
import { missingDataNotice, PoolArch, PoolConfig, poolConfig, poolSeeds, reportedSeeds, tableDatasets } from './pool';
import { evaluationNote } from './method-tables';
import { PaperRow } from './paper-values';

/** The notebooks' folder: its .ipynb files are the one list of notebooks (the runner, the report index, the tests and docs/registries.md read it). */
export const NOTEBOOKS_DIR = path.join(PROJECT_ROOT, 'notebooks');

/** Every notebook's name (its file name without .ipynb), in the order `npm run notebooks` runs them. */
export function notebookNames(dir = NOTEBOOKS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .map((f) => f.slice(0, -'.ipynb'.length))
    .sort();
}

export interface NotebookStart {
  backend: BackendInfo;
  profile: Profile;
}

/** Starts the backend (PIAT_BACKEND or the best available) and reads PIAT_PROFILE (default quick). */
export async function openNotebook(): Promise<NotebookStart> {
  return { backend: await initBackend(), profile: profileFromEnv('quick') };
}

/** The header's first line: profile, backend and the data the notebook runs on. */
export function profileLine({ profile, backend }: NotebookStart, data: string): string {
  return `**Profile:** \`${profile}\` · **backend:** ${backend.name} (${backend.provider}, tfjs ${backend.tfjsVersion}) · ${data}`;
}

/**
 * "**Paper reported (Table IV, ViT-B, AA):** PGD-AT 48.99, PGD-AT+A&P 49.67, …": the paper's numbers
 * for a header, read from paper-values.ts (the one place they are typed out).
 */
export function paperReported(
  title: string,
  table: PaperRow[],
  group: string,
  metric: 'clean' | 'pgd20' | 'aa',
  methods?: string[],
): string {
  const rows = table.filter((r) => r.group === group && (!methods || methods.includes(r.method)));
  if (!rows.length)
    throw new PiatError('bad-input', `paperReported: the table has no rows for ${group}${methods ? ` and ${methods.join(', ')}` : ''}`);
  return `**Paper reported (${title}):** ${rows.map((r) => `${r.method} ${r[metric].toFixed(2)}`).join(', ')}.`;
}

/** A pool config's network with the options it sets: "cnn-fc (head width 800)", "small-cnn (widths 8/16/32)". */
export function modelLabel(cfg: Pick<PoolConfig, 'arch' | 'widths' | 'fcWidth' | 'patch'>): string {
  const widths = cfg.widths ? ` (widths ${cfg.widths.join('/')})` : '';
  const head = cfg.fcWidth ? ` (head width ${cfg.fcWidth})` : '';
  const patch = cfg.patch ? ` (patch ${cfg.patch})` : '';
  return `${cfg.arch}${widths}${head}${patch}`;
}

/** The training recipe of a pool config, in words. */
export function trainingLine(cfg: PoolConfig): string {
  return (
    `**Model:** ${modelLabel(cfg)} · SGD momentum 0.9, LR ${cfg.lr} (${describeSchedule(cfg.lrSchedule)}), weight decay ${cfg.weightDecay}, ` +
    `${cfg.epochs} epochs, batch ${cfg.batchSize} · training attack PGD-${cfg.attack.steps}, ε = ${cfg.attack.eps.toFixed(4)}, step ${cfg.attack.alpha.toFixed(4)}`
  );
}

/** A header line: fixed text, or text that depends on the profile and the pool's settings. */
export type HeaderText = string | ((n: { profile: Profile; cfg: PoolConfig }) => string);

export interface PoolNotebookOptions {
  /** the datasets the paper's table or figure uses; below the paper profile the embedded Fashion-MNIST stands in */
  paperDatasets: DatasetName[];
  /** the paper's architecture, or one per profile (at the small profiles the pool's small network stands in) */
  arch: PoolArch | ((profile: Profile) => PoolArch);
  /** what the notebook trains, in words (the "Methods" line) */
  methods: HeaderText;
  /** lines after the evaluation note: the paper's numbers, formulas, what else is computed */
  notes?: HeaderText[];
  /** whether the notebook runs the pool's final evaluation (default true); the landscape notebook does not */
  evaluated?: boolean;
}

export interface PoolNotebook extends NotebookStart {
  /** the datasets this profile runs */
  datasets: DatasetName[];
  /** the pool's settings on the first of them */
  cfg: PoolConfig;
}

/**
 * The first cell of a pool notebook: starts the backend, reads the profile, shows profile, backend,
 * data, the training recipe, the methods (with the seeds), the final evaluation, the notes and any
 * missing data, and returns what the later cells use.
 */
export async function openPoolNotebook(o: PoolNotebookOptions): Promise<PoolNotebook> {
  const start = await openNotebook();
  const datasets = tableDatasets(start.profile, o.paperDatasets);
  const cfg = poolConfig(start.profile, { dataset: datasets[0], arch: typeof o.arch === 'function' ? o.arch(start.profile) : o.arch });
  const text = (t: HeaderText) => (typeof t === 'function' ? t({ profile: start.profile, cfg }) : t);
  const seeds = reportedSeeds(cfg);
  showMarkdown(
    [
      profileLine(start, `**datasets:** ${datasets.join(', ')} (${cfg.trainSize ?? 'all'} training images)`),
      trainingLine(cfg),
      `**Methods:** ${text(o.methods)} — same initial weights within a seed; seeds ${seeds.join(', ')}${seeds.length < poolSeeds(cfg).length ? ` (PIAT_SEEDS; the profile's: ${poolSeeds(cfg).join(', ')})` : ''}.`,
      o.evaluated === false ? '' : evaluationNote(cfg),
      ...(o.notes ?? []).map(text),
      missingDataNotice(start.profile, datasets),
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  return { ...start, datasets, cfg };
}
