#!/usr/bin/env node
/**
 * piat: the library's jobs from a shell, without Jupyter.
 *   piat backend                      which tfjs backend loads here, and why others did not
 *   piat toy [--profile P] [--json]   train the toy example's five methods, print the summary
 *   piat report [--profile P] [NB…]   execute notebooks and render reports/*.html
 * Global: --backend tensorflow|wasm|cpu (or PIAT_BACKEND), --profile (or PIAT_PROFILE).
 */
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initBackend } from './backend';
import { PiatError, oneOf } from './util/errors';
import { PROFILES, Profile, profileFromEnv, PROJECT_ROOT } from './experiments/profiles';
import { runToyExperiment, toySummary } from './experiments/toy';
import { fetchDataset, OFFICIAL } from './data/fetch';

const COMMANDS = ['backend', 'toy', 'report', 'fetch', 'help'] as const;

interface Args {
  command: string;
  flags: Record<string, string | true>;
  rest: string[];
}

export function parseArgs(argv: string[]): Args {
  const [command = 'help', ...tail] = argv;
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < tail.length; i++) {
    const a = tail[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) flags[k] = v;
      else if (tail[i + 1] !== undefined && !tail[i + 1].startsWith('--')) flags[k] = tail[++i];
      else flags[k] = true;
    } else rest.push(a);
  }
  return { command, flags, rest };
}

function usage(): string {
  return [
    'usage: piat <command> [options]',
    '  backend                          show the tfjs backend that loads here',
    '  toy [--profile P] [--json]       train the toy example (Sec. III-A) and print the comparison',
    '  report [--profile P] [notebook…] execute notebooks, render reports/<name>.html and reports/index.html',
    '  fetch cifar10|cifar100|svhn [--dir D]  download the official files (needs internet), verify MD5, unpack into datasets/<name>/',
    `options: --backend ${['tensorflow', 'wasm', 'cpu'].join('|')}  --profile ${PROFILES.join('|')}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const command = oneOf('command', a.command, COMMANDS);
  const profile: Profile = typeof a.flags.profile === 'string' ? oneOf('profile', a.flags.profile, PROFILES) : profileFromEnv('quick');
  const backendOpt = typeof a.flags.backend === 'string' ? { backend: a.flags.backend } : {};
  switch (command) {
    case 'help':
      console.log(usage());
      return 0;
    case 'backend': {
      console.log(JSON.stringify(await initBackend(backendOpt), null, 2));
      return 0;
    }
    case 'toy': {
      await initBackend(backendOpt);
      const runs = await runToyExperiment(profile);
      if (a.flags.json) console.log(JSON.stringify(runs.map((r) => ({ method: r.method, runDir: r.runDir, oscillation: r.oscillation, final: r.records[r.records.length - 1] })), null, 2));
      else console.log(toySummary(runs));
      return 0;
    }
    case 'fetch': {
      const name = oneOf('dataset', a.rest[0] ?? '', Object.keys(OFFICIAL) as (keyof typeof OFFICIAL)[]);
      const dir = typeof a.flags.dir === 'string' ? a.flags.dir : path.join(PROJECT_ROOT, 'datasets', name);
      const files = await fetchDataset(name, dir);
      console.log(`fetched ${name}: ${files.length} files under ${dir}`);
      return 0;
    }
    case 'report': {
      const r = spawnSync('/usr/bin/python3', [path.join(PROJECT_ROOT, 'scripts', 'run_notebooks.py'), '--profile', profile, ...a.rest], {
        stdio: 'inherit',
        env: { ...process.env, ...(backendOpt.backend ? { PIAT_BACKEND: backendOpt.backend } : {}) },
      });
      if (r.error) throw new PiatError('no-jupyter', `Could not start the notebook runner (${r.error.message}); run 'bash scripts/setup.sh' first.`);
      return r.status ?? 1;
    }
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof PiatError) {
        console.error(`piat: ${e.message}`);
        if (e.code === 'unknown-option') console.error(usage());
        process.exit(2);
      }
      console.error(e);
      process.exit(1);
    },
  );
}
