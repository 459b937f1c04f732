/**
 * Progress lines with an ETA for long loops. On a terminal it redraws one line; elsewhere
 * (notebooks, CI logs) it prints a line at most every `intervalMs` and at the end, so output
 * stays readable in a rendered report.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** where lines go (default: stderr) */
  write?: (line: string) => void;
  intervalMs?: number;
  /** false silences it */
  enabled?: boolean;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private done = 0;
  private readonly tty: boolean;

  constructor(private readonly o: ProgressOptions) {
    this.tty = !o.write && Boolean(process.stderr.isTTY);
  }

  /** Advances by `n` and shows `info` (e.g. the running loss). */
  tick(n = 1, info = ''): void {
    this.done += n;
    const now = Date.now();
    const final = this.done >= this.o.total;
    if (this.o.enabled === false) return;
    if (!final && now - this.last < (this.o.intervalMs ?? (this.tty ? 200 : 10000))) return;
    this.last = now;
    const elapsed = (now - this.start) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * (this.o.total - this.done) : NaN;
    const pct = ((100 * this.done) / Math.max(1, this.o.total)).toFixed(0).padStart(3);
    const line = `${this.o.label} ${pct}% ${this.done}/${this.o.total} · ${formatSeconds(elapsed)}${final ? '' : ` · ETA ${formatSeconds(eta)}`}${info ? ' · ' + info : ''}`;
    if (this.o.write) this.o.write(line);
    else if (this.tty) process.stderr.write(`\r${line.padEnd(100)}${final ? '\n' : ''}`);
    else process.stderr.write(line + '\n');
  }
}
