export * from './render';
export * from './display';
export * from './charts';
