const p = require('./dist/src/index');
(async () => { await p.initBackend();
  const m = p.smallCnn({ numClasses: 10, seed: 1 }); const ds = p.loadDataset('mnist', 'train').take(64);
  try { const t0 = Date.now();
    await p.train({ model: m, objective: p.pgdAt({ attack: { eps: 0.3, alpha: 0.1, steps: 2 } }), train: ds, config: { epochs: 1, batchSize: 32, seed: 1, optimizer: { lr: 0.01 } }, progress: false });
    console.log('trained', Date.now() - t0, 'ms');
  } catch (e) { console.log('ERR', e.message.split('\n')[0]); }
})();
