/** Statistics for reported results: binomial intervals, summaries over seeds, verdicts with uncertainty. */
export * from './binomial';
export * from './summary';
export * from './verdict';
