/**
 * The layers of src/ (`npm run check:layers`, which `npm test` runs first; test/layers.test.ts).
 * The library (backend, data, models, attacks, objectives, piat, train, eval, stats, plots, util,
 * analysis, averaging, settings.ts, index.ts) is usable without the paper's reproduction, so none
 * of it imports src/experiments/, src/sweep/, src/cli.ts or src/cli/; and no module of src/ is on an import
 * cycle. experiments/ and sweep/ sit on the library and the CLI on them; experiments/ uses sweep/
 * (the notebook pool hands runs to its workers and to Slurm) and sweep/ imports nothing of
 * experiments/ (the CLI passes it the pool's runner).
 *
 * Type-only imports (`import type`, `export type … from`) count: tsPreCompilationDeps keeps them in
 * the graph, so an upward arrow or a cycle made only of types fails too.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'library-imports-upward',
      severity: 'error',
      comment:
        'The library (src/ except experiments/, sweep/ and cli.ts) must not depend on the ' +
        "paper's reproduction: move what it needs down into the library instead.",
      from: {
        path: '^src/(?:(?:backend|data|models|attacks|objectives|piat|train|eval|stats|plots|util|analysis|averaging)/|(?:settings|index)\\.ts$)',
      },
      to: {
        path: '^src/(?:(?:experiments|sweep|cli)/|cli\\.ts$)',
      },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles in src/ (type-only imports count).',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
