export * from './schedule';
export * from './interpolate';
export * from './hook';
