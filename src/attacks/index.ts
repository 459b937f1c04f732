export * from './losses';
export * from './pgd';
