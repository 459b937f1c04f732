/**
 * Jupyter's "interrupt kernel" inside long async work. Jupyter sends SIGINT; tslab then ends the
 * cell at once but leaves its promise running, so a training loop would carry on in the
 * background (and a re-run of the cell would train the same run twice). A loop that watches here
 * sees the interrupt between steps (train() yields to the event loop after each batch) and stops,
 * keeping the last saved checkpoint.
 *
 * Only inside a notebook kernel: the CLI stops after the epoch instead (train/interrupt.ts).
 */
import { inNotebook } from './output';

export interface InterruptWatch {
  /** true once Jupyter interrupted the kernel after this watch began */
  requested(): boolean;
}

// one listener for the kernel's lifetime (tslab keeps its own, so SIGINT never ends the process):
// nothing to remove when training stops on an error
let interrupts = 0;
let listening = false;

export function watchInterrupts(enabled = inNotebook()): InterruptWatch {
  if (!enabled) return { requested: () => false };
  if (!listening) {
    process.on('SIGINT', () => interrupts++);
    listening = true;
  }
  const at = interrupts;
  return { requested: () => interrupts !== at };
}
