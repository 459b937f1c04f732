export * from './schedule';
export * from './interpolate';
export * from './hook';
export * from './averaging';
export * from './fawa';
