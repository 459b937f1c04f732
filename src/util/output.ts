/**
 * Where progress and informational lines go. Three modes:
 *   notebook: inside a tslab kernel. A progress line is a display updated in place (Jupyter's
 *             update_display_data), so a rendered report keeps only its last state; notes go to
 *             stdout, because a report shows stderr as an error.
 *   tty:      a terminal. A progress line is redrawn with a carriage return on stderr.
 *   lines:    stderr piped to a file or CI log. Plain lines, a few per run.
 * PIAT_PROGRESS=notebook|tty|lines forces one (tests, or a terminal that should log lines).
 */
import { PiatError } from './errors';

export const OUTPUT_MODES = ['notebook', 'tty', 'lines'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

type TslabJupyter = { lastWriteDisplayData: unknown };
type TslabDisplay = { text(s: string): void };

/** tslab's protocol module when this process is a running tslab kernel; never loads tslab itself. */
function runningKernel(): TslabJupyter | null {
  let id: string;
  try {
    id = require.resolve('tslab/dist/jupyter');
  } catch {
    return null;
  }
  const m = require.cache[id]?.exports as TslabJupyter | undefined;
  return m && m.lastWriteDisplayData ? m : null;
}

export function inNotebook(): boolean {
  return runningKernel() !== null;
}

/** Which cell is executing: tslab makes a new output writer per execute request. */
export function currentCell(): unknown {
  return runningKernel()?.lastWriteDisplayData ?? null;
}

export function outputMode(env: NodeJS.ProcessEnv = process.env): OutputMode {
  const forced = env.PIAT_PROGRESS?.trim();
  if (forced) {
    if (!(OUTPUT_MODES as readonly string[]).includes(forced)) {
      throw new PiatError('unknown-option', `PIAT_PROGRESS must be one of ${OUTPUT_MODES.join(', ')}, got '${forced}'`);
    }
    return forced as OutputMode;
  }
  if (inNotebook()) return 'notebook';
  return process.stderr.isTTY ? 'tty' : 'lines';
}

/** A display in the running notebook that later calls replace; null outside a kernel. */
export function newDisplay(): TslabDisplay | null {
  if (!inNotebook()) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tslab = require('tslab') as { newDisplay(): TslabDisplay };
  return tslab.newDisplay();
}

/** The terminal's width, for lines that must not wrap (a wrapped line cannot be redrawn). */
export function terminalColumns(): number {
  return process.stderr.columns || 100;
}

type Redraw = () => void;
let ttyLine: { clear: () => void; redraw: Redraw } | null = null;

/** Registers the terminal line being redrawn, so that notes print above it. */
export function claimTtyLine(line: { clear: () => void; redraw: Redraw } | null): void {
  ttyLine = line;
}

/**
 * An informational line (what is being evaluated, where a run lives). Not an error, so in a
 * notebook it goes to stdout; elsewhere to stderr, which keeps stdout for results (--json).
 */
export function note(text: string, mode: OutputMode = outputMode()): void {
  if (mode === 'notebook') {
    process.stdout.write(text + '\n');
    return;
  }
  if (mode === 'tty' && ttyLine) {
    ttyLine.clear();
    process.stderr.write(text + '\n');
    ttyLine.redraw();
    return;
  }
  process.stderr.write(text + '\n');
}
