export * from './boundary';
export * from './oscillation';
export * from './landscape';
