/**
 * The command line on node:util's parseArgs with one command table: the help is generated from the
 * table (every command, every option), unknown options get a did-you-mean, a string option's value
 * may start with one dash but never two, a word after a switch is refused, and a bad config value is
 * named by its field path.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { Args, CommandSpec, looseArgs, parseCommandLine } from '../../src/cli/args';
import { GLOBAL_OPTIONS } from '../../src/cli/call';
import { COMMANDS } from '../../src/cli/commands';
import { commandHelp, usage } from '../../src/cli/help';
import { parseArgs } from '../../src/cli';
import { PiatError } from '../../src/util/errors';
import { tmpDir } from '../helpers';
import { cli, tinyConfig, writeJson } from '../run-safety-helpers';

const fake: CommandSpec<unknown> = {
  name: 'fake',
  summary: 'a command for the parser',
  positionals: { name: 'DIR', noun: 'the folder', description: 'a folder' },
  options: {
    n: { type: 'string', value: 'N', description: 'a count' },
    eps: { type: 'string', value: 'E', description: 'a radius' },
    mode: { type: 'string', value: 'M', description: 'a mode', default: 'fast' },
    grid: { type: 'string', value: 'K=V', multiple: true, description: 'a grid' },
    json: { type: 'boolean', description: 'as JSON' },
  },
  run: () => 0,
};
const parse = (argv: string[], command: CommandSpec<unknown> = fake): Args =>
  parseCommandLine(command, { ...command.options, ...GLOBAL_OPTIONS }, argv);
const refused = (argv: string[], message: RegExp, command: CommandSpec<unknown> = fake) =>
  assert.throws(
    () => parse(argv, command),
    (e: unknown) => e instanceof PiatError && e.code === 'bad-option' && message.test(e.message),
    argv.join(' '),
  );

test('the help lists every command of the table, and each command its every option', () => {
  const text = usage(COMMANDS, GLOBAL_OPTIONS);
  for (const c of COMMANDS) assert.match(text, new RegExp(`^  ${c.name} +\\S`, 'm'), `piat help lists ${c.name}`);
  for (const c of COMMANDS) {
    const help = commandHelp(c, GLOBAL_OPTIONS);
    assert.match(help, new RegExp(`^usage: piat ${c.name}\\b`));
    for (const [name, o] of Object.entries({ ...c.options, ...GLOBAL_OPTIONS }))
      assert.match(help, new RegExp(`^  --${name}${o.type === 'string' ? ' \\S' : ''}`, 'm'), `piat ${c.name} --help shows --${name}`);
    if (c.positionals) assert.ok(help.includes(c.positionals.name), `piat ${c.name} --help shows ${c.positionals.name}`);
  }
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, 'each command once');
  assert.match(
    commandHelp(
      COMMANDS.find((c) => c.name === 'compare')!,
      GLOBAL_OPTIONS,
    ),
    /--which best\|final .*\(default final\)/,
  );
});

test('piat help and piat COMMAND --help print the table, exit 0', () => {
  const r = cli(['help']);
  assert.equal(r.status, 0, r.stderr);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, 'm'));
  const e = cli(['eval', '--help']);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /^usage: piat eval \[options\]/);
  assert.match(e.stdout, /^ {2}--checkpoint DIR /m);
  assert.equal(cli(['help', 'sweep']).stdout, cli(['sweep', '-h']).stdout);
  const none = cli([]);
  assert.equal(none.status, 0);
  assert.match(none.stdout, /^usage: piat <command>/);
});

test('an unknown option is named with the nearest one; an unknown command lists the commands', () => {
  refused(['--jsno'], /^fake: unknown option --jsno; did you mean --json\?$/);
  refused(['--epsilon', '0.1'], /^fake: unknown option --epsilon; did you mean --eps\?$/);
  refused(
    ['--colour', 'red'],
    /^fake: unknown option --colour; expected one of: --n, --eps, --mode, --grid, --json, --backend, --profile, --help$/,
  );
  refused(['-x'], /^fake: unknown option -x; expected one of: --n/);
  refused(['-n', '3'], /^fake: unknown option -n/);
  const r = cli(['eval', '--epsilon', '0.1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^piat: eval: unknown option --epsilon; did you mean --eps\?$/m);
  const u = cli(['evl']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /^piat: Unknown command 'evl'\. Expected one of: backend, toy, .*, help\.$/m);
  assert.match(u.stderr, /^usage: piat <command>/m, 'then the list of commands');
});

test('values: one dash may start a value, two may not; switches take none; repeats are kept', () => {
  let a = parse(['--eps', '-0.1', 'dir', '--grid', 'a=1', '--grid=b=2', '--n=3']);
  assert.equal(a.str('eps'), '-0.1');
  assert.equal(a.num('n', { integer: true, min: 1 }), 3);
  assert.deepEqual(a.all('grid'), ['a=1', 'b=2']);
  assert.deepEqual(a.positionals, ['dir']);
  assert.equal(a.str('mode'), 'fast', 'the default');
  assert.equal(a.given('mode'), false);
  assert.equal(a.flag('json'), false);
  a = parse(['dir', '--json', '--', '--not-an-option']);
  assert.equal(a.flag('json'), true);
  assert.deepEqual(a.positionals, ['dir', '--not-an-option']);
  refused(['--n'], /^--n needs a value$/);
  refused(['--n', '--eps', '1'], /^--n needs a value$/);
  refused(['--json=yes'], /^--json takes no value, got 'yes'$/);
  refused(['--json', 'dir'], /^--json takes no value, got 'dir' \(put the folder before the options\)$/);
  refused(
    ['x'],
    /^toy takes no arguments, got 'x'$/,
    COMMANDS.find((c) => c.name === 'toy')!,
  );
  assert.throws(() => parse(['--n', 'abc']).num('n', { integer: true, min: 1 }), /^PiatError: --n must be a whole number >= 1, got 'abc'$/);
  assert.throws(() => parse(['--eps', '-1']).num('eps', { min: 0 }), /^PiatError: --eps must be a number >= 0, got '-1'$/);
  assert.throws(() => parse([]).str('colour'), /fake reads --colour \(string\), which its command entry does not declare/);
  assert.equal(parse(['-h']).flag('help'), true);
});

test('a bad config value is named by its field path and the value found, before anything trains', () => {
  const dir = tmpDir();
  const file = writeJson(
    path.join(dir, 'bad.json'),
    tinyConfig(path.join(dir, 'run'), { train: { epochs: 1, batchSize: 12, seed: 3, optimizer: { lr: -0.5 } } }),
  );
  const r = cli(['train', '--config', file]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^piat: config\.train\.optimizer\.lr must be a positive number, got -0\.5$/m);
  const misspelt = writeJson(path.join(dir, 'misspelt.json'), { ...tinyConfig(path.join(dir, 'run')), trainSise: 10 });
  assert.match(cli(['train', '--config', misspelt]).stderr, /^piat: config\.trainSise: unknown field; did you mean trainSize\?$/m);
});

test('the loose reading kept for scripts outside the table (bench/export-for-reference.ts)', () => {
  assert.equal(parseArgs, looseArgs);
  assert.deepEqual(looseArgs(['export', 'out', '--n', '10', '--no-aa', '--model=m', '--eps', '0.1']), {
    command: 'export',
    flags: { n: '10', 'no-aa': true, model: 'm', eps: '0.1' },
    rest: ['out'],
  });
});
