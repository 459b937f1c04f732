/**
 * The help, generated from the command table: `piat help` lists the commands with their summaries,
 * `piat help COMMAND` and `piat COMMAND --help` print one command's arguments and options.
 */
import { CommandSpec, OptionSpec, OptionTable } from './args';

const WIDTH = 100;

/** Words of `text` in lines of at most `width` characters (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/** Two columns: each name, then its text wrapped beside it. */
function columns(rows: [string, string][]): string[] {
  const left = Math.min(Math.max(...rows.map(([name]) => name.length)), 28) + 4;
  return rows.flatMap(([name, text]) => {
    const [first = '', ...more] = wrap(text, WIDTH - left);
    const head = name.length + 4 > left ? [`  ${name}`, `${' '.repeat(left)}${first}`] : [`  ${name.padEnd(left - 2)}${first}`];
    return [...head, ...more.map((l) => `${' '.repeat(left)}${l}`)];
  });
}

function optionRow(name: string, o: OptionSpec): [string, string] {
  const shown = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  const extra = [o.multiple ? 'may be repeated' : '', o.default !== undefined ? `default ${o.default}` : ''].filter(Boolean).join('; ');
  return [shown, extra ? `${o.description} (${extra})` : o.description];
}

const optionRows = (table: OptionTable) => Object.entries(table).map(([name, o]) => optionRow(name, o));

function synopsis(c: CommandSpec<unknown>): string {
  return `piat ${c.name}${c.positionals ? ` ${c.positionals.name}` : ''}${Object.keys(c.options).length ? ' [options]' : ''}`;
}

/** `piat help`: every command of the table, and the options they all take. */
export function usage(commands: readonly CommandSpec<unknown>[], globals: OptionTable): string {
  return [
    'usage: piat <command> [arguments] [options]',
    '',
    'commands:',
    ...columns(commands.map((c) => [c.name, c.summary])),
    '',
    'options of every command:',
    ...columns(optionRows(globals)),
    '',
    "'piat help COMMAND' or 'piat COMMAND --help' prints the command's arguments and options.",
  ].join('\n');
}

/** `piat COMMAND --help`: its synopsis, summary, arguments and options. */
export function commandHelp(c: CommandSpec<unknown>, globals: OptionTable): string {
  const own = optionRows(c.options);
  return [
    `usage: ${synopsis(c)}`,
    ...wrap(c.summary, WIDTH),
    ...(c.positionals ? ['', 'arguments:', ...columns([[c.positionals.name, c.positionals.description]])] : []),
    ...(own.length ? ['', 'options:', ...columns(own)] : []),
    '',
    'options of every command:',
    ...columns(optionRows(globals)),
  ].join('\n');
}
