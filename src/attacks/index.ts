export * from './losses';
export * from './pgd';
export * from './iterative';
