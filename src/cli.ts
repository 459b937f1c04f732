#!/usr/bin/env node
/**
 * piat: the library's jobs from a shell, without Jupyter. `piat help` lists the commands and
 * `piat COMMAND --help` prints one command's options; both are generated from the command table
 * (cli/commands.ts), which gives each command its summary, arguments, options and handler. argv is
 * read on node:util's parseArgs through that table (cli/args.ts): every option is checked before
 * any work starts, an unknown one is named with a suggestion, numbers must be numbers in range.
 * Global options: --backend torch|tensorflow|wasm|cpu (or PIAT_BACKEND), --profile (or PIAT_PROFILE).
 * Exit status: 0 done; 2 a PiatError (a bad option or config, a failed run: its message on stderr);
 * 1 anything else; `report` passes on the notebook runner's.
 */
import { PiatError } from './util/errors';
import { looseArgs, parseCommandLine } from './cli/args';
import { callOf, GLOBAL_OPTIONS } from './cli/call';
import { Command, COMMANDS, findCommand } from './cli/commands';
import { commandHelp, usage } from './cli/help';

/** argv read loosely, without the command table: kept for bench/export-for-reference.ts. */
export const parseArgs = looseArgs;

export async function main(argv: string[]): Promise<number> {
  let command: Command | undefined;
  try {
    const [name = 'help', ...rest] = argv;
    if (name === '--help' || name === '-h') {
      console.log(usage(COMMANDS, GLOBAL_OPTIONS));
      return 0;
    }
    command = findCommand(name);
    const args = parseCommandLine(command, { ...command.options, ...GLOBAL_OPTIONS }, rest);
    if (args.flag('help')) {
      console.log(commandHelp(command, GLOBAL_OPTIONS));
      return 0;
    }
    return await command.run(callOf(args));
  } catch (e) {
    if (!(e instanceof PiatError)) throw e;
    console.error(`piat: ${e.message}`);
    // an unknown command, profile, dataset, …: the choices are in the help
    if (e.code === 'unknown-option')
      console.error(command && command.name !== 'help' ? commandHelp(command, GLOBAL_OPTIONS) : usage(COMMANDS, GLOBAL_OPTIONS));
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
