/**
 * The package root, found from this file whether it runs compiled (dist/src/util/) or as source
 * through ts-node (src/util/, as notebooks load it): a fixed number of '..' fits only one of them.
 */
import * as fs from 'fs';
import * as path from 'path';

export function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..', '..');
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
