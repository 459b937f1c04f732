// @ts-check
// npm run lint (run by npm test): ESLint over the TypeScript of src/, test/ and bench/, with
// typescript-eslint's type information (the project's tsconfig.json). Only rules that catch real
// bugs: eslint's recommended correctness rules, typescript-eslint's recommended rules, and the
// type-aware ones for promises (a promise nobody awaits, a promise where a value or a void callback
// is expected). No stylistic rule: Prettier owns formatting (npm run format).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // a promise that is neither awaited nor handed on: its failure is lost or comes after the
      // caller has gone on. node:test's test() needs no await at the top level (the runner waits).
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      // a promise where a condition, a spread or a void-returning callback is expected
      '@typescript-eslint/no-misused-promises': 'error',
      // awaiting a value that is not a promise (usually a forgotten call or a wrong type)
      '@typescript-eslint/await-thenable': 'error',
      // a `for…in` over an array
      '@typescript-eslint/no-for-in-array': 'error',
      // an object without its own toString in a template or string concatenation ("[object Object]")
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'none',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // a promise returned from inside try without await: the catch and finally never see its failure
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/no-array-delete': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/no-unsafe-unary-minus': 'error',
      '@typescript-eslint/restrict-plus-operands': 'error',
      // require() only where a module is optional or loaded late, each with a disable comment saying
      // why; `import x = require('m')` is a typed import (test/disk-errors.test.ts wraps fs's own object)
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // the code base types tfjs's loose spots with `any` on purpose
      '@typescript-eslint/no-explicit-any': 'off',
      // style, not correctness: `open = this` registers the open progress bar (src/util/progress.ts)
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
);
