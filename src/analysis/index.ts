export * from './boundary';
export * from './oscillation';
