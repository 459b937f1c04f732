export * from './types';
export * from './adversarial';
export * from './pgd-at';
export * from './alp';
export * from './nmse';
