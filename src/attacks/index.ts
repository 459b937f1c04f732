export * from './losses';
export * from './pgd';
export * from './iterative';
export * from './autoattack';
