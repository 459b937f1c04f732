/**
 * Ctrl-C for training jobs. The first SIGINT asks train() to stop once the current epoch is saved
 * (train() yields to the event loop between batches, so the listener runs within a batch). The
 * listener then removes itself: with no listener left Node restores the default action, so a second
 * Ctrl-C ends the process at once, even in the middle of a long batch or evaluation. Checkpoints
 * are swapped in by renames, so the last saved one stands either way.
 */
export interface Interrupt {
  /** true once Ctrl-C was pressed (pass as train()'s shouldStop) */
  requested: () => boolean;
  /** stops listening (the default Ctrl-C action returns) */
  dispose: () => void;
}

export function stopOnSigint(): Interrupt {
  let requested = false;
  const onSignal = () => {
    requested = true;
    process.removeListener('SIGINT', onSignal);
    process.stderr.write(
      '\nCtrl-C: stopping once the current epoch is saved (Ctrl-C again to stop at once; the last saved checkpoint stands)\n',
    );
  };
  process.on('SIGINT', onSignal);
  return { requested: () => requested, dispose: () => process.removeListener('SIGINT', onSignal) };
}
