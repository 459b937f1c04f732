/**
 * Finding dataset files without network access. A dataset is looked for in, in order: the
 * folder the caller names, $PIAT_DATA/<name>, <repo>/datasets/<name>, and system folders (Debian's
 * data packages). A missing file is an error naming the file, every folder searched, and how to
 * get it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PiatError } from '../util/errors';

const REPO_DATASETS = path.resolve(__dirname, '..', '..', '..', 'datasets');

export function datasetDirs(name: string, opts: { dir?: string; system?: string[] } = {}): string[] {
  const dirs: string[] = [];
  if (opts.dir) dirs.push(path.resolve(opts.dir));
  if (process.env.PIAT_DATA) dirs.push(path.join(process.env.PIAT_DATA, name));
  dirs.push(path.join(REPO_DATASETS, name));
  dirs.push(...(opts.system ?? []));
  return dirs;
}

/** The first existing file among `names` (alternatives, e.g. plain and .gz) in `dirs`. */
export function locate(dataset: string, names: string[], dirs: string[], howToGet: string): string {
  for (const d of dirs) {
    for (const n of names) {
      const f = path.join(d, n);
      if (fs.existsSync(f)) return f;
    }
  }
  throw new PiatError(
    'missing-dataset',
    `${dataset}: file ${names.join(' or ')} not found.\n  Looked in:\n    ${dirs.join('\n    ')}\n  ${howToGet}`,
  );
}
