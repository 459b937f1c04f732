/** Statistics for reported results: binomial intervals, summaries over seeds, verdicts with uncertainty. */
export * from './binomial';
export * from './summary';
export * from './verdict';
export * from './student-t';
export * from './paired';
export * from './simulate';
