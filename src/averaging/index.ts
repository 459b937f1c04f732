/** Trainer hooks that average weights without feeding the average back (SWA, EMA, CFA's FAWA), to compare with PIAT. */
export * from './weight-averaging';
export * from './fawa';
