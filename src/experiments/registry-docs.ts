/**
 * docs/registries.md, rendered from the registries themselves: architectures (`MODELS`), named
 * attacks (`ATTACKS`), objectives (`OBJECTIVES`), datasets (`DATASETS` with their training
 * augmentation and the files `piat fetch` downloads) and the notebooks (the .ipynb files of
 * notebooks/, each titled by its first cell). Every fact in the tables is typed once, in its
 * registry; `npm run docs:registries` writes the page and test/experiments/registry-docs.test.ts
 * fails when the committed page differs from what the registries give.
 *
 * Entry point: `node dist/src/experiments/registry-docs.js [--check]` (what `npm run
 * docs:registries` runs after the build); `--check` writes nothing and exits 1 when the page is out
 * of date.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ARCHS, MODELS, ModelEntry } from '../models/registry';
import { ATTACKS, AttackEntry, AttackId } from '../attacks/registry';
import { OBJECTIVE_IDS, objectiveEntry } from '../objectives/registry';
import { DATASETS, PAPER_AUGMENTATION } from '../data/images';
import { OFFICIAL } from '../data/fetch';
import { describe, Field, Schema } from '../util/schema';
import { writeFileAtomic } from '../util/fsx';
import { PiatError } from '../util/errors';
import { replaceMarked } from '../util/markers';
import { PROJECT_ROOT } from './profiles';
import { NOTEBOOKS_DIR, notebookNames } from './notebook';

export const REGISTRIES_DOC = path.join(PROJECT_ROOT, 'docs', 'registries.md');
/** The command that regenerates docs/registries.md. */
export const REGISTRIES_COMMAND = 'npm run docs:registries';

// ---- Markdown ------------------------------------------------------------------------------

/** A table cell: one line, pipes escaped, an empty value shown as a dash. */
function cell(text: string): string {
  const t = text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
  return t.trim() === '' ? '—' : t;
}

const code = (text: string) => `\`${text}\``;

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );
}

// ---- options (the registries' Field descriptions) ------------------------------------------------

/** What an option accepts, in the words of the config checks; an object lists its fields. */
function accepts(schema: Schema): string {
  if (schema.type === 'object') return `an object: ${Object.keys(schema.fields).map(code).join(', ')}`;
  return describe(schema);
}

/** One option as a row: name, what it accepts, its documented default, what it is. */
function optionRow(owner: string, name: string, f: Field): string[] {
  const required = f.optional ? '' : 'required; ';
  const nullable = f.nullable ? ' or null' : '';
  const def = f.schema.default === undefined ? '' : code(JSON.stringify(f.schema.default));
  return [code(owner), code(name), `${required}${accepts(f.schema)}${nullable}`, def, f.schema.description ?? ''];
}

function optionsTable(label: string, entries: [string, Record<string, Field>][]): string {
  const rows = entries.flatMap(([owner, options]) => Object.entries(options).map(([name, f]) => optionRow(owner, name, f)));
  return table([label, 'option', 'accepts', 'default', 'what'], rows);
}

const optionNames = (options: Record<string, Field>) => Object.keys(options).map(code).join(', ');

// ---- the registries ------------------------------------------------------------------------

function modelsSection(): string {
  const entries = ARCHS.map((a) => [a, MODELS[a] as ModelEntry] as const);
  const withOptions = entries.filter(([, e]) => Object.keys(e.options).length > 0);
  return [
    '## Architectures',
    '',
    '`MODELS` in `src/models/registry.ts`: what `buildModel(arch, …)`, a run config\'s `"model": { "arch": … }`, `piat eval --arch` and the experiments build.',
    '',
    table(
      ['arch', 'input', 'summary', 'source', 'options'],
      entries.map(([a, e]) => [code(a), e.input, e.summary, e.source, optionNames(e.options)]),
    ),
    '',
    'Their options as a run config writes them:',
    '',
    optionsTable(
      'arch',
      withOptions.map(([a, e]) => [a, e.options]),
    ),
  ].join('\n');
}

const ATTACK_KINDS: Record<AttackEntry['kind'], string> = {
  clean: 'no attack',
  batch: 'batch by batch',
  dataset: 'over the test set (resumable)',
};

/** The names an attack answers to: `pgdN` (e.g. `pgd20`), `cwN` (`cw` = `cw20`), `fgsm`. */
function attackNames(id: string, e: AttackEntry): string {
  if (e.kind !== 'batch' || !e.steps) return code(id);
  const plain = e.steps.default === undefined ? '' : `; ${code(id)} = ${code(`${id}${e.steps.default}`)}`;
  return `${code(`${id}N`)} (N steps, e.g. ${code(`${id}${e.steps.example}`)}${plain})`;
}

function attacksSection(): string {
  const entries = Object.entries(ATTACKS) as [AttackId, AttackEntry][];
  return [
    '## Attacks',
    '',
    "`ATTACKS` in `src/attacks/registry.ts`: the names `evaluate(model, data, { attacks })` and `piat eval --attacks` accept. Each is built from the threat model (ε, the step α, a seed) and, for AutoAttack's components, AutoAttack's budgets.",
    '',
    table(
      ['name', 'runs', 'summary', 'source'],
      entries.map(([id, e]) => [attackNames(id, e), ATTACK_KINDS[e.kind], e.summary, e.source]),
    ),
  ].join('\n');
}

function objectivesSection(): string {
  const entries = OBJECTIVE_IDS.map((id) => [id, objectiveEntry(id)] as const);
  return [
    '## Objectives',
    '',
    '`OBJECTIVES` in `src/objectives/registry.ts`: what `makeObjective(id, …)`, a run config\'s `"objective": { "name": … }` and the method specs of `src/experiments/methods.ts` build.',
    '',
    table(
      ['id', 'paper name', 'loss', 'source', 'options'],
      entries.map(([id, e]) => [code(id), e.paperName, e.summary, e.source, optionNames(e.options)]),
    ),
    '',
    'Their options as a run config writes them (`attack` is the training attack, PGD-10 at the threat model of `src/settings.ts` unless given):',
    '',
    optionsTable(
      'objective',
      entries.map(([id, e]) => [id, e.options]),
    ),
  ].join('\n');
}

function augmentationText(name: (typeof DATASETS)[number]): string {
  const a = PAPER_AUGMENTATION[name];
  const parts = [a.crop ? `random crop, ${a.crop}-pixel padding` : '', a.flip ? 'horizontal flip' : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

function fetchText(name: string): string {
  const files = (OFFICIAL as Record<string, { url: string; md5: string }[]>)[name];
  if (!files) return '';
  return files.map((f) => `${f.url} (MD5 ${code(f.md5)})`).join('; ');
}

function datasetsSection(): string {
  return [
    '## Datasets',
    '',
    '`DATASETS` in `src/data/images.ts`: what `loadDataset(name, split)`, a run config\'s `"dataset"` and `piat eval --data` read; where their files are looked for: [datasets.md](datasets.md).',
    '',
    table(
      ['name', 'training augmentation', '`piat fetch` downloads'],
      DATASETS.map((d) => [code(d), augmentationText(d), fetchText(d)]),
    ),
  ].join('\n');
}

/** A notebook's cells: its markdown title and whether its code opens the shared pool. */
function readNotebook(name: string): { title: string; pool: boolean } {
  const file = path.join(NOTEBOOKS_DIR, `${name}.ipynb`);
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
  const text = (c: { source: string[] | string }) => (Array.isArray(c.source) ? c.source.join('') : c.source);
  const first = nb.cells[0];
  const heading = first && first.cell_type === 'markdown' ? /^#\s+(.+)$/m.exec(text(first)) : null;
  if (!heading)
    throw new PiatError('bad-format', `${file}: its first cell must be a markdown cell starting with a title, '# NN · what it reproduces'`);
  const title = heading[1].replace(/^\d+\s*·\s*/, '').trim();
  const pool = nb.cells.some((c) => c.cell_type === 'code' && text(c).includes('openPoolNotebook'));
  return { title, pool };
}

/** The notebooks as a table: file, what it reproduces (its title), whether it trains through the shared pool. */
export function notebookTable(): string {
  return table(
    ['notebook', 'reproduces', 'shared pool'],
    notebookNames().map((n) => {
      const nb = readNotebook(n);
      return [code(n), nb.title, nb.pool ? 'yes' : 'no'];
    }),
  );
}

function notebooksSection(): string {
  return [
    '## Notebooks',
    '',
    'The `.ipynb` files of `notebooks/` (what `npm run notebooks` runs, in this order), each titled by its first cell; those that open the shared pool of runs (`ex.openPoolNotebook`) train through it. Profiles and how they run: [notebooks.md](notebooks.md).',
    '',
    notebookTable(),
  ].join('\n');
}

export const README = path.join(PROJECT_ROOT, 'README.md');

/** The README with its notebook table (between the notebooks markers) regenerated. */
export function withReadmeNotebooks(readme: string): string {
  return replaceMarked(readme, 'notebooks', notebookTable(), 'README.md');
}

/** docs/registries.md, from the registries and notebooks/ alone. */
export function renderRegistries(): string {
  return (
    [
      '# Registries',
      '',
      `<!-- Generated by \`${REGISTRIES_COMMAND}\` (src/experiments/registry-docs.ts) from the registries; edit them, not this page. test/experiments/registry-docs.test.ts fails when it is out of date. -->`,
      '',
      'Every architecture, attack, objective, dataset and notebook, as its registry describes it. Adding to a registry: [contributing.md](contributing.md); then `' +
        REGISTRIES_COMMAND +
        '` rewrites this page.',
      '',
      modelsSection(),
      '',
      attacksSection(),
      '',
      objectivesSection(),
      '',
      datasetsSection(),
      '',
      notebooksSection(),
    ].join('\n') + '\n'
  );
}

/**
 * Writes docs/registries.md (or `file`) and the README's notebook table (or `readme`'s) where they
 * differ; with `check`, writes nothing. Returns whether either differed.
 */
export function writeRegistries(o: { check?: boolean; file?: string; readme?: string } = {}): boolean {
  const want: [string, string][] = [[o.file ?? REGISTRIES_DOC, renderRegistries()]];
  const readme = o.readme ?? (o.file ? undefined : README);
  if (readme) want.push([readme, withReadmeNotebooks(fs.readFileSync(readme, 'utf8'))]);
  const differ = want.filter(([f, text]) => !fs.existsSync(f) || fs.readFileSync(f, 'utf8') !== text);
  if (!o.check) for (const [f, text] of differ) writeFileAtomic(f, text);
  return differ.length > 0;
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const rel = path.relative(process.cwd(), REGISTRIES_DOC);
  const differs = writeRegistries({ check });
  if (check && differs) {
    console.error(`${rel} or the README's notebook table is out of date: run \`${REGISTRIES_COMMAND}\` and commit them.`);
    process.exit(1);
  }
  console.log(
    differs
      ? check
        ? `${rel} is out of date`
        : `wrote ${rel} and the README's notebook table`
      : `${rel} and the README match the registries`,
  );
}
