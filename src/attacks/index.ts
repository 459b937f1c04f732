export * from './contract';
export * from './projection';
export * from './losses';
export * from './pgd';
export * from './iterative';
export * from './autoattack';
export * from './ap';
export * from './registry';
