const piat = require('./dist/src/index');
(async () => {
  await piat.initBackend();
  const runs = await piat.runToyExperiment('quick', { progress: true });
  console.log(piat.toySummary(runs));
})();
