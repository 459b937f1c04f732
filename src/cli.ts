#!/usr/bin/env node
/**
 * piat: the library's jobs from a shell, without Jupyter.
 *   piat backend                      which tfjs backend loads here, and why others did not
 *   piat toy [--profile P] [--json]   train the toy example's five methods, print the summary
 *   piat report [--profile P] [NB…]   execute notebooks and render reports/*.html
 * Global: --backend tensorflow|wasm|cpu (or PIAT_BACKEND), --profile (or PIAT_PROFILE).
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initBackend } from './backend';
import { PiatError, oneOf } from './util/errors';
import { PROFILES, Profile, profileFromEnv, PROJECT_ROOT } from './experiments/profiles';
import { runToyExperiment, toySummary } from './experiments/toy';
import { fetchDataset, OFFICIAL } from './data/fetch';
import { buildRun, expandGrid, parseShard, withOverrides } from './experiments/run-config';
import { train } from './train/trainer';
import { loadModel } from './train/model-io';
import { evaluate } from './eval/evaluate';
import { DATASETS, loadDataset } from './data/images';

const COMMANDS = ['backend', 'toy', 'train', 'sweep', 'eval', 'report', 'fetch', 'help'] as const;

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
    '  train --config run.json          train one run (resumes if its runDir holds a checkpoint)',
    '  sweep --config run.json --grid key.path=v1,v2 [--grid …] [--shard i/n]  one run per grid point, runDir/<point>',
    '  eval --checkpoint DIR --data NAME [--attacks clean,pgd20,cw20,aa] [--n N] [--eps E] [--json]  robust accuracy of saved weights (aa resumes if interrupted)',
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
    case 'train': {
      await initBackend(backendOpt);
      await runFromConfig(readConfig(a.flags.config), stopOnSigint());
      return 0;
    }
    case 'sweep': {
      await initBackend(backendOpt);
      const base = readConfig(a.flags.config) as { runDir?: string };
      const grids = argvAll(argv, '--grid');
      if (!grids.length) throw new PiatError('bad-option', 'sweep needs at least one --grid key.path=v1,v2');
      const shard = typeof a.flags.shard === 'string' ? parseShard(a.flags.shard) : { index: 0, count: 1 };
      const points = expandGrid(grids);
      const stop = stopOnSigint();
      for (let k = 0; k < points.length; k++) {
        if (k % shard.count !== shard.index) continue;
        const tag = Object.entries(points[k]).map(([key, v]) => `${key}=${JSON.stringify(v)}`).join(',').replace(/[^A-Za-z0-9_.,=-]/g, '');
        const cfg = withOverrides(base, { ...points[k], runDir: path.join(String(base.runDir ?? 'runs/sweep'), tag) });
        console.error(`sweep point ${k + 1}/${points.length}: ${tag}`);
        if ((await runFromConfig(cfg, stop)).stopped) break;
      }
      return 0;
    }
    case 'eval': {
      await initBackend(backendOpt);
      if (typeof a.flags.checkpoint !== 'string') throw new PiatError('bad-option', 'eval needs --checkpoint DIR (a folder with model.json and weights.bin)');
      const dataName = oneOf('dataset (--data)', String(a.flags.data ?? ''), DATASETS);
      const model = await loadModel(a.flags.checkpoint);
      const data = loadDataset(dataName, 'test', { dir: typeof a.flags['data-dir'] === 'string' ? a.flags['data-dir'] : undefined });
      const rows = evaluate(model, data, {
        attacks: typeof a.flags.attacks === 'string' ? a.flags.attacks.split(',') : undefined,
        n: a.flags.n !== undefined ? Number(a.flags.n) : undefined,
        eps: a.flags.eps !== undefined ? Number(a.flags.eps) : undefined,
        // an interrupted AutoAttack resumes from this file
        aaStatePath: path.join(String(a.flags.checkpoint), `autoattack-${dataName}-${a.flags.n ?? 'all'}.state.json`),
      });
      if (a.flags.json) console.log(JSON.stringify({ checkpoint: a.flags.checkpoint, data: dataName, rows }, null, 2));
      else rows.forEach((r) => console.log(`${r.attack.padEnd(8)} ${(100 * r.accuracy).toFixed(2)}%  (n = ${r.n}, ${r.seconds.toFixed(1)} s)`));
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

function readConfig(file: string | true | undefined): unknown {
  if (typeof file !== 'string') throw new PiatError('bad-option', 'missing --config FILE (a JSON run config; see src/experiments/run-config.ts)');
  if (!fs.existsSync(file)) throw new PiatError('bad-option', `config file ${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PiatError('bad-config', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Every value of a repeated flag (--grid a=1 --grid b=2). */
function argvAll(argv: string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((v, i) => {
    if (v === flag && argv[i + 1] !== undefined) out.push(argv[i + 1]);
    else if (v.startsWith(flag + '=')) out.push(v.slice(flag.length + 1));
  });
  return out;
}

/** First Ctrl-C: finish and save the current epoch, then stop. Second: stop now (the last checkpoint stands). */
function stopOnSigint(): () => boolean {
  let requested = false;
  process.on('SIGINT', () => {
    if (requested) process.exit(130);
    requested = true;
    console.error('\nstopping after this epoch is saved (Ctrl-C again to stop now; the last checkpoint stands)');
  });
  return () => requested;
}

async function runFromConfig(raw: unknown, shouldStop: () => boolean) {
  const run = buildRun(raw);
  const r = await train({ model: run.model, objective: run.objective, hooks: run.hooks, train: run.train, test: run.test, config: run.config.train, runDir: run.config.runDir, meta: { runConfig: run.config }, shouldStop });
  const last = r.records[r.records.length - 1];
  console.error(`${run.config.runDir}: ${r.records.length} epochs${r.stopped ? ' (stopped; run again to resume)' : ''}; best PGD: ${r.best ? `${(100 * r.best.robustAcc).toFixed(2)}% at epoch ${r.best.epoch}` : 'n/a'}; last clean ${last?.cleanAcc ?? 'n/a'}`);
  run.model.dispose();
  return r;
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
