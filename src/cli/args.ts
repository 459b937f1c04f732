/**
 * The command line's options, on node:util's parseArgs: a command declares its options in the
 * command table (cli/commands.ts); parseCommandLine reads argv against that declaration and refuses,
 * before any work starts, an option the command does not read (naming the nearest one), a string
 * option without its value and a value given to a switch. Args hands the values to the handler,
 * numbers checked.
 */
import { parseArgs } from 'node:util';
import { PiatError } from '../util/errors';
import { closest } from '../util/schema';

/** One option of a command: `--name VALUE` (string) or `--name` (boolean). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** the value's placeholder in the help: `--n N` */
  value?: string;
  /** may be given more than once (`--grid a=1 --grid b=2`); every value is kept */
  multiple?: boolean;
  description: string;
  /** the value when the option is absent (the help shows it) */
  default?: string;
  /** the message when a string option is given without its value (default "--name needs a value") */
  missing?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** The words after the options' names: `piat sweep-status DIR`. */
export interface PositionalSpec {
  /** as the help writes it: DIR, NOTEBOOK… */
  name: string;
  /** what it is, in a message: "put the folder before the options" */
  noun: string;
  description: string;
}

/** One entry of the command table: what `piat help` lists and what runs. */
export interface CommandSpec<C> {
  name: string;
  /** one line, for `piat help` */
  summary: string;
  /** the command's arguments; a command without takes none */
  positionals?: PositionalSpec;
  /** the options it reads, besides the global ones */
  options: OptionTable;
  run(call: C): Promise<number> | number;
}

type Value = string | true | string[];

/** The values of one command line, read through the command's declaration. */
export class Args {
  constructor(
    readonly command: string,
    private readonly table: OptionTable,
    private readonly values: Record<string, Value>,
    readonly positionals: string[],
  ) {}

  private spec(name: string, type: OptionSpec['type']): OptionSpec {
    const spec = this.table[name];
    // a handler reading an option its entry does not declare is a bug in the table, not a user's error
    if (!spec || spec.type !== type)
      throw new Error(`piat ${this.command} reads --${name} (${type}), which its command entry does not declare`);
    return spec;
  }

  /** whether the option was on the command line (a default does not count) */
  given(name: string): boolean {
    if (!this.table[name]) this.spec(name, 'string');
    return this.values[name] !== undefined;
  }

  /** a switch (`--json`) */
  flag(name: string): boolean {
    this.spec(name, 'boolean');
    return this.values[name] === true;
  }

  /** a string option's value (its last, if given more than once), else its default */
  str(name: string): string | undefined {
    const spec = this.spec(name, 'string');
    const v = this.values[name];
    return (Array.isArray(v) ? v[v.length - 1] : (v as string | undefined)) ?? spec.default;
  }

  /** every value of a repeated option */
  all(name: string): string[] {
    this.spec(name, 'string');
    const v = this.values[name];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  /** a comma-separated value as its items (`--seeds 1,2,3`), blanks dropped */
  list(name: string): string[] | undefined {
    return this.str(name)
      ?.split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }

  /** a number option, checked: `--n abc`, `--n 0`, `--eps -1` are errors naming the option */
  num(name: string, o: NumberRule): number | undefined {
    const raw = this.str(name);
    return raw === undefined ? undefined : numberValue(name, raw, o);
  }
}

export interface NumberRule {
  integer?: boolean;
  min?: number;
  /** strictly greater than */
  above?: number;
}

/** `raw` as the number option --`name` wants, or a PiatError saying what it must be. */
export function numberValue(name: string, raw: string, o: NumberRule): number {
  const v = Number(raw);
  const want = `${o.integer ? 'a whole number' : 'a number'}${o.min !== undefined ? ` >= ${o.min}` : ''}${o.above !== undefined ? ` > ${o.above}` : ''}`;
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(v) &&
    (!o.integer || Number.isInteger(v)) &&
    (o.min === undefined || v >= o.min) &&
    (o.above === undefined || v > o.above);
  if (!ok) throw new PiatError('bad-option', `--${name} must be ${want}, got '${raw}'`);
  return v;
}

const bad = (message: string) => new PiatError('bad-option', message);

/**
 * Reads the words after the command's name. `options` is everything the command accepts (its own
 * and the global ones). Beyond parseArgs' own reading, nothing that may be a slip is taken
 * silently: a word that starts with `--` is never a string option's value (`--n --eps 0` lacks a
 * value for --n), and a word right after a switch is refused rather than guessed at (`--json DIR`:
 * put DIR first). A string option's value may start with one dash (`--eps -0.1` reaches the range
 * check, which names it).
 */
export function parseCommandLine(command: CommandSpec<unknown>, options: OptionTable, argv: string[]): Args {
  const { tokens } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, multiple: o.multiple === true }])),
    // unknown options and missing values are refused below, with messages naming the command's options
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, Value> = {};
  const positionals: string[] = [];
  tokens.forEach((t, i) => {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') return;
    const name = t.rawName === '-h' ? 'help' : t.name;
    const spec = options[name];
    if (!spec || (t.rawName !== `--${name}` && t.rawName !== '-h')) throw unknownOption(command.name, t.rawName, Object.keys(options));
    if (spec.type === 'boolean') {
      if (t.value !== undefined) throw bad(`--${name} takes no value, got '${t.value}'`);
      const next = tokens[i + 1];
      if (next?.kind === 'positional' && next.index === t.index + 1)
        throw bad(
          `--${name} takes no value, got '${next.value}'${command.positionals ? ` (put ${command.positionals.noun} before the options)` : ''}`,
        );
      values[name] = true;
    } else {
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw bad(spec.missing ?? `--${name} needs a value`);
      const before = values[name];
      values[name] = spec.multiple ? [...(Array.isArray(before) ? before : []), t.value] : t.value;
    }
  });
  if (positionals.length && !command.positionals && values.help === undefined)
    throw bad(`${command.name} takes no arguments, got '${positionals.join(' ')}'`);
  return new Args(command.name, options, values, positionals);
}

/** "eval: unknown option --epsilon; did you mean --eps?" */
function unknownOption(command: string, raw: string, known: string[]): PiatError {
  // a near miss of a long option's name; a short option (-x) is only ever a letter away from one
  const near = raw.startsWith('--') ? /did you mean (\S+)\?/.exec(closest(raw.slice(2), known)) : null;
  return bad(
    `${command}: unknown option ${raw}${near ? `; did you mean --${near[1]}?` : `; expected one of: ${known.map((k) => `--${k}`).join(', ')}`}`,
  );
}

/**
 * The old loose reading, for scripts outside the command table (bench/export-for-reference.ts):
 * any `--name value` or `--name` is taken, unchecked; the first word is the command.
 */
export function looseArgs(argv: string[]): { command: string; flags: Record<string, string | true>; rest: string[] } {
  const [command = 'help', ...tail] = argv;
  const { tokens } = parseArgs({ args: tail, strict: false, allowPositionals: true, tokens: true });
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'positional') rest.push(t.value);
    if (t.kind !== 'option') continue;
    const next = tokens[i + 1];
    if (t.value !== undefined) flags[t.name] = t.value;
    else if (next?.kind === 'positional' && next.index === t.index + 1) {
      flags[t.name] = next.value;
      i++;
    } else flags[t.name] = true;
  }
  return { command, flags, rest };
}
