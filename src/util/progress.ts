/**
 * Progress lines with an ETA for long loops, like tqdm: one line per task that updates in place
 * (a redrawn terminal line, or an updated display in a notebook) and ends as a one-line summary.
 * Piped to a log, plain lines at most every `intervalMs`, plus the summary. See ./output.ts.
 *
 * A Progress created while another is open (an evaluation's AutoAttack inside a pool's
 * evaluation) shares its line: "PGD-AT best › AutoAttack apgd-t 40% …", so a notebook cell
 * shows one line per task rather than one per inner loop.
 */
import { claimTtyLine, currentCell, newDisplay, note, OutputMode, outputMode, terminalColumns } from './output';

export interface ProgressOptions {
  label: string;
  total: number;
  /** print plain lines through this function instead (tests); such a Progress shares no line */
  write?: (line: string) => void;
  /** piped output: at most one line per interval (default 30 s) besides the summary */
  intervalMs?: number;
  /** false silences it */
  enabled?: boolean;
  /** work done before this session (a resumed run): counts toward the percentage, not the rate */
  initial?: number;
  /** reaching `total` does not end the line: done() does (a run still evaluating its last epoch) */
  keepOpen?: boolean;
  /** show "done/total" (default true) */
  counts?: boolean;
  mode?: OutputMode;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const BAR_WIDTH = 12;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

export function bar(fraction: number, width = BAR_WIDTH): string {
  const f = Math.min(1, Math.max(0, fraction)) * width;
  const full = Math.floor(f);
  const part = full < width ? EIGHTHS[Math.floor((f - full) * 8)] : '';
  return '|' + ('█'.repeat(full) + part).padEnd(width) + '|';
}

/** Where a top-level Progress draws: a notebook display, a terminal line, or log lines. */
interface Sink {
  show(text: string, force: boolean): void;
  log(text: string): void;
  close(text: string): void;
}

function throttled(ms: number, draw: (text: string) => void): (text: string, force: boolean) => void {
  let last = 0;
  return (text, force) => {
    const now = Date.now();
    if (!force && now - last < ms) return;
    last = now;
    draw(text);
  };
}

function notebookSink(): Sink {
  const display = newDisplay();
  // outside a live kernel (PIAT_PROGRESS=notebook in a test) the summary still reaches stdout
  if (!display) return { show: () => undefined, log: () => undefined, close: (t) => note(t, 'notebook') };
  return { show: throttled(500, (t) => display.text(t)), log: () => undefined, close: (t) => display.text(t) };
}

function ttySink(): Sink {
  let current = '';
  const fit = (t: string) => (t.length < terminalColumns() ? t : t.slice(0, terminalColumns() - 2) + '…');
  const draw = (t: string) => process.stderr.write(`\r${fit(t)}\x1b[K`);
  const line = { clear: () => process.stderr.write('\r\x1b[K'), redraw: () => draw(current) };
  claimTtyLine(line);
  const show = throttled(100, (t) => draw(t));
  return {
    show: (t, force) => {
      current = t;
      show(t, force);
    },
    log: () => undefined,
    close: (t) => {
      process.stderr.write(`\r${t}\x1b[K\n`);
      claimTtyLine(null);
    },
  };
}

function linesSink(write: (line: string) => void, intervalMs: number): Sink {
  // the first line waits one interval: short tasks print only their summary
  let last = Date.now();
  return {
    show: (t, force) => {
      const now = Date.now();
      if (!force && now - last < intervalMs) return;
      last = now;
      write(t);
    },
    log: write,
    close: write,
  };
}

/** The innermost open Progress, which a new one nests in (one chain per process). */
let open: Progress | null = null;

export class Progress {
  private readonly start = Date.now();
  private done = 0;
  private closed = false;
  private info = '';
  private readonly mode: OutputMode;
  private readonly parent: Progress | null = null;
  private readonly sink: Sink | null = null;
  private readonly cell: unknown = null;

  constructor(private readonly o: ProgressOptions) {
    this.done = o.initial ?? 0;
    this.mode = o.write ? 'lines' : (o.mode ?? outputMode());
    // nothing to show (silenced, or an empty loop that will never tick): it takes no line
    if (o.enabled === false || (o.total <= 0 && !o.keepOpen)) {
      this.closed = true;
      return;
    }
    if (o.write) {
      this.sink = linesSink(o.write, o.intervalMs ?? 30000);
      return;
    }
    // a chain left open by a cell that failed or was interrupted is not nested in
    if (open && open.root().cell !== currentCell()) open = null;
    if (open) {
      this.parent = open;
    } else {
      this.cell = currentCell();
      this.sink =
        this.mode === 'notebook'
          ? notebookSink()
          : this.mode === 'tty'
            ? ttySink()
            : linesSink((l) => process.stderr.write(l + '\n'), o.intervalMs ?? 30000);
    }
    open = this;
  }

  /** Advances by `n` and shows `info` (e.g. the running loss). */
  tick(n = 1, info?: string): void {
    this.done += n;
    if (info !== undefined) this.info = info;
    if (this.closed) return;
    if (this.done >= this.o.total && !this.o.keepOpen) {
      this.finish();
      return;
    }
    this.show(false);
  }

  /** Changes the info without advancing (e.g. "evaluating" between epochs); a log gets no line for it. */
  status(info: string): void {
    this.info = info;
    if (!this.closed && this.mode !== 'lines') this.show(true);
  }

  /** A line of its own in a log (one per epoch); a live line shows only the latest state. */
  log(text: string): void {
    if (!this.closed) this.root().sink?.log(this.prefix() + text);
  }

  /** Ends the line with `summary` (default: its final state). Nested, the enclosing line takes over again. */
  finish(summary?: string): void {
    if (this.closed) return;
    this.closed = true;
    const text = this.prefix() + (summary ?? this.text(true));
    // inner lines left open (their loop threw) close with this one
    for (let p = open; p; p = p.parent) if (p === this) open = this.parent;
    if (this.parent) {
      if (this.mode === 'lines') this.root().sink?.log(text);
      else this.parent.show(true);
      return;
    }
    this.sink?.close(text);
  }

  private root(): Progress {
    return this.parent ? this.parent.root() : this;
  }

  private prefix(): string {
    return this.parent ? this.parent.prefix() + this.parent.o.label + ' › ' : '';
  }

  private show(force: boolean): void {
    const own = this.text(false);
    this.root().sink?.show(this.prefix() + own, force);
  }

  /** "label  42%|█████     | 21/50 · info · 12s, ETA 18s" (no bar in a log; without counts "…| info · …"). */
  text(final: boolean): string {
    const { total, label } = this.o;
    const elapsed = (Date.now() - this.start) / 1000;
    const fraction = this.done / Math.max(1, total);
    const withBar = this.mode !== 'lines';
    let head = `${label} ${String(Math.round(100 * fraction)).padStart(3)}%${withBar ? bar(fraction) : ''}`;
    if (this.o.counts !== false) head += ` ${this.done}/${total}`;
    const rate = (this.done - (this.o.initial ?? 0)) / elapsed;
    const time =
      final || this.done >= total
        ? formatSeconds(elapsed)
        : `${formatSeconds(elapsed)}, ETA ${formatSeconds(rate > 0 ? (total - this.done) / rate : NaN)}`;
    const rest = [this.info, time].filter(Boolean).join(' · ');
    // "|███   | epoch 1/6 · …", but "evaluate  33% 1/3 · clean …"
    return head + (withBar && this.o.counts === false ? ' ' : ' · ') + rest;
  }
}
