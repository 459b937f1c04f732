/**
 * What a training run shows while it runs: one progress line (epoch, batch, loss, the last
 * evaluated accuracies, ETA) and, when it ends, a one-line summary. In a log, also one line per
 * epoch. See util/progress.ts for where the line is drawn.
 */
import { formatSeconds, Progress } from '../util/progress';
import { note, outputMode } from '../util/output';
import { EpochRecord } from './records';

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

function accuracies(r: EpochRecord | undefined): string {
  if (!r || r.cleanAcc === null) return '';
  return ` · clean ${pct(r.cleanAcc)}` + (r.robustAcc === null ? '' : ` · robust ${pct(r.robustAcc)}`);
}

export interface RunProgressOptions {
  label: string;
  epochs: number;
  batchesPerEpoch: number;
  /** epochs completed before (a resumed run) */
  startEpoch: number;
  runDir?: string;
  enabled: boolean;
}

export class RunProgress {
  private readonly line: Progress;
  private last: EpochRecord | undefined;

  constructor(
    private readonly o: RunProgressOptions,
    done: EpochRecord[],
  ) {
    this.last = done[done.length - 1];
    this.line = new Progress({
      label: o.label,
      total: o.epochs * o.batchesPerEpoch,
      initial: o.startEpoch * o.batchesPerEpoch,
      keepOpen: true,
      counts: false,
      enabled: o.enabled && o.startEpoch < o.epochs,
    });
    if (o.enabled && o.startEpoch < o.epochs && outputMode() === 'lines') {
      const where = o.runDir ?? 'memory (no runDir)';
      this.line.log(o.startEpoch > 0 ? `${o.label}: resuming ${where} after epoch ${o.startEpoch}` : `${o.label}: training in ${where}`);
    }
  }

  batch(epoch: number, b: number, loss: number): void {
    this.line.tick(
      1,
      `epoch ${epoch + 1}/${this.o.epochs} · batch ${b + 1}/${this.o.batchesPerEpoch} · loss ${loss.toFixed(4)}${accuracies(this.last)}`,
    );
  }

  evaluating(epoch: number): void {
    this.line.status(`epoch ${epoch + 1}/${this.o.epochs} · evaluating`);
  }

  epochEnd(r: EpochRecord): void {
    this.last = r;
    this.line.log(
      `epoch ${r.epoch}/${this.o.epochs} · loss ${r.loss.total.toFixed(4)}${accuracies(r)} · ${(r.trainSeconds + r.evalSeconds).toFixed(1)}s`,
    );
  }

  /** A line of its own (not an error): above the live line in a terminal, stdout in a notebook. */
  note(text: string): void {
    if (this.o.enabled) note(text);
  }

  /** The summary line; a finished run that was only loaded gets one too (cached results are visible). */
  finish(records: EpochRecord[], best: { epoch: number; robustAcc: number } | null, stopped: boolean): void {
    const r = records[records.length - 1];
    const seconds = records.slice(this.o.startEpoch).reduce((s, x) => s + x.trainSeconds + x.evalSeconds, 0);
    const how =
      this.o.startEpoch >= this.o.epochs
        ? `finished earlier, ${records.length} epochs`
        : `${stopped ? `stopped after epoch ${records.length},` : `${records.length} epochs`} in ${formatSeconds(seconds)}${this.o.startEpoch > 0 ? ` (resumed after epoch ${this.o.startEpoch})` : ''}`;
    const summary = `${this.o.label} · ${how}${r ? ` · loss ${r.loss.total.toFixed(4)}${accuracies(r)}` : ''}${best ? ` · best robust ${pct(best.robustAcc)} (epoch ${best.epoch})` : ''}`;
    if (this.o.startEpoch >= this.o.epochs) {
      if (this.o.enabled) new Progress({ label: this.o.label, total: 1, keepOpen: true }).finish(summary);
      return;
    }
    this.line.finish(summary);
  }

  /** Ends the line when training stops on an error or an interrupt (the error itself is thrown). */
  fail(epoch: number, b: number, why: string): void {
    const kept = this.o.runDir && epoch > 0 ? ` · the checkpoint of epoch ${epoch} stands: run again to resume` : '';
    this.line.finish(`${this.o.label} · ${why} at epoch ${epoch + 1}, batch ${b + 1}${kept}`);
  }
}
