/**
 * Finding dataset files without network access. Without a data folder from the caller a dataset
 * is looked for in, in order: $PIAT_DATA/<name>, <repo>/datasets/<name>, and system folders
 * (Debian's data packages). A folder the caller names (--data-dir, dataDir) must exist and is the
 * only place looked in.
 *
 * All files of a split come from one folder, the first that holds the complete set: images from
 * one copy and labels from another would train on mismatched pairs without any error. When no
 * folder holds them all, the error lists what each folder has.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/paths';

const REPO_DATASETS = path.join(PACKAGE_ROOT, 'datasets');

export interface SearchPlan {
  /** folders to look in, in order */
  dirs: string[];
  /** the folder the caller named, if any (then `dirs` lie inside it) */
  given?: string;
  /** where the files are looked for without one (for messages) */
  defaults: string[];
}

/**
 * The folders to search for dataset `name`. `expand` maps a dataset folder to the folders its
 * files may lie in (e.g. CIFAR-10's archive unpacks into cifar-10-batches-bin/).
 */
export function searchPlan(
  name: string,
  opts: { dir?: string; system?: string[] } = {},
  expand: (dir: string) => string[] = (d) => [d],
): SearchPlan {
  const defaults: string[] = [];
  if (process.env.PIAT_DATA) defaults.push(path.join(process.env.PIAT_DATA, name));
  defaults.push(path.join(REPO_DATASETS, name), ...(opts.system ?? []));
  if (opts.dir === undefined) return { dirs: defaults.flatMap(expand), defaults };
  const given = path.resolve(opts.dir);
  if (!fs.existsSync(given) || !fs.statSync(given).isDirectory()) {
    throw new PiatError(
      'missing-dataset',
      `${name}: the data folder ${given} (--data-dir / dataDir) ${fs.existsSync(given) ? 'is not a folder' : 'does not exist'}.`,
    );
  }
  return { dirs: expand(given), given, defaults };
}

/** @deprecated use searchPlan: the folders searched for `name`, the caller's first. */
export function datasetDirs(name: string, opts: { dir?: string; system?: string[] } = {}): string[] {
  return searchPlan(name, opts).dirs;
}

/**
 * The files of one complete set, all from the first folder in `plan` that holds every one.
 * `files` lists each file's alternative names (e.g. plain and .gz).
 */
export function locateSet(dataset: string, files: string[][], plan: SearchPlan, howToGet: string): string[] {
  const found = plan.dirs.map((d) =>
    files.map((alts) => alts.map((n) => path.join(d, n)).find((f) => fs.existsSync(f) && fs.statSync(f).isFile())),
  );
  const complete = found.findIndex((inDir) => inDir.every((f) => f !== undefined));
  if (complete >= 0) return found[complete] as string[];

  const label = (alts: string[]) => alts.join(' or ');
  const nowhere = files.filter((_, i) => found.every((inDir) => inDir[i] === undefined));
  const head = nowhere.length
    ? `${dataset}: file ${nowhere.map(label).join(', ')} not found.`
    : `${dataset}: no folder holds all of ${files.map(label).join(', ')}; they must come from one folder (one copy of the dataset).`;
  const lines = plan.dirs.map((d, k) => {
    if (!fs.existsSync(d)) return `${d}: does not exist`;
    const has = found[k].filter((f): f is string => f !== undefined).map((f) => path.basename(f));
    const lacks = files.filter((_, i) => !found[k][i]).map(label);
    return has.length ? `${d}: has ${has.join(', ')}; lacks ${lacks.join(', ')}` : `${d}: has none of them`;
  });
  const where = plan.given ? `  Looked only in the data folder given (without one: ${plan.defaults.join(', ')}):` : '  Looked in:';
  throw new PiatError('missing-dataset', `${head}\n${where}\n    ${lines.join('\n    ')}\n  ${howToGet}`);
}

/** The first existing file among `names` (alternatives, e.g. plain and .gz) in `dirs`. */
export function locate(dataset: string, names: string[], dirs: string[], howToGet: string): string {
  return locateSet(dataset, [names], { dirs, defaults: dirs }, howToGet)[0];
}
