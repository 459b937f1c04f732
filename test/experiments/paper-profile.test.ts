/**
 * The paper profile as the paper ran it: every notebook's paper configuration (paperPlan, built
 * from the same lists the notebooks train) checked against the paper's settings
 * (shared/paper/PAPER-NOTES.md; "Datasets and Models" and "Implementation details" of the paper).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../helpers';
import { paperPlan } from '../../src/experiments/paper-plan';
import { OFFICIAL_TEST_SIZE } from '../../src/data/images';
import { paperLinearDecay } from '../../src/train/lr';

/** The paper's recipe per architecture (ResNet-18 and WRN-32-10: Sec. IV-A; the ViTs: Table IV's A&P setting). */
const PAPER = {
  resnet18: { epochs: 120, lr: 0.01, weightDecay: 5e-4, batchSize: 128, schedule: paperLinearDecay(120) },
  'wrn34-10': { epochs: 180, lr: 0.1, weightDecay: 2e-4, batchSize: 128, schedule: paperLinearDecay(180) },
  vit: { epochs: 40, lr: 0.1, weightDecay: 1e-4, schedule: { kind: 'piecewise', milestones: [36, 38] } },
};
/** Which architectures and datasets each notebook's table or figure uses in the paper. */
const SCOPE: Record<string, { archs: string[]; datasets: string[] }> = {
  '02-oscillation-curves': { archs: ['resnet18'], datasets: ['cifar10'] },
  '03-table1-resnet18': { archs: ['resnet18'], datasets: ['cifar10', 'cifar100', 'svhn'] },
  '04-tables2-3-wrn': { archs: ['wrn34-10'], datasets: ['cifar10', 'cifar100'] },
  '05-table4-vits': { archs: ['convit-b', 'vit-b', 'deit-s'], datasets: ['cifar10'] },
  '06-table5-nmse-vs-alp': { archs: ['resnet18'], datasets: ['cifar10', 'cifar100'] },
  '07-fig6-piat-frameworks': { archs: ['resnet18'], datasets: ['cifar10', 'cifar100', 'svhn'] },
  '08-fig7-lambda-sweep': { archs: ['resnet18'], datasets: ['cifar10'] },
  '09-fig8-loss-landscape': { archs: ['resnet18'], datasets: ['cifar10'] },
  '10-fig9-beta-schedules': { archs: ['resnet18'], datasets: ['cifar10'] },
};

test('every notebook that trains the pool has a paper plan, and only those', () => {
  const pooled = fs
    .readdirSync(path.join(REPO_ROOT, 'notebooks'))
    .filter((f) => f.endsWith('.ipynb') && fs.readFileSync(path.join(REPO_ROOT, 'notebooks', f), 'utf8').includes('openPoolNotebook'))
    .map((f) => f.replace(/\.ipynb$/, ''));
  assert.deepEqual(
    paperPlan()
      .map((p) => p.notebook)
      .sort(),
    pooled.sort(),
  );
});

for (const plan of paperPlan()) {
  test(`${plan.notebook}: the paper's architectures, datasets, threat model, attacks, epochs, schedule and test sets`, () => {
    const scope = SCOPE[plan.notebook];
    assert.deepEqual([...new Set(plan.pools.map((p) => p.arch))], scope.archs);
    assert.deepEqual([...new Set(plan.pools.map((p) => p.dataset))], scope.datasets);
    for (const { arch, dataset, config: c } of plan.pools) {
      const where = `${plan.notebook} ${dataset} ${arch}`;
      // L∞, ε = 8/255; PGD-10 training with step 2/255; PGD-20 evaluation
      assert.deepEqual(c.attack, { eps: 8 / 255, alpha: 2 / 255, steps: 10 }, where);
      assert.deepEqual(c.evalAttack, { eps: 8 / 255, alpha: 2 / 255, steps: 20 }, where);
      // Best and Final on the whole official test set with PGD-20, CW-20 and the standard AutoAttack
      assert.equal(c.final.n, OFFICIAL_TEST_SIZE[dataset], where);
      assert.deepEqual(c.final.attacks, ['clean', 'pgd20', 'cw20', 'aa'], where);
      assert.equal(c.final.aa, undefined, `${where}: the standard AutoAttack, not a reduced one`);
      assert.equal(c.final.eps, 8 / 255, where);
      // one seed, as the paper; every training image but the 1000 held out to choose Best
      assert.deepEqual(c.seeds ?? [c.seed], [1], where);
      assert.equal(c.trainSize, undefined, `${where}: the whole training set`);
      assert.equal(c.validationSize, 1000, where);
      const recipe = arch === 'resnet18' || arch === 'wrn34-10' ? PAPER[arch] : PAPER.vit;
      assert.equal(c.epochs, recipe.epochs, where);
      assert.equal(c.lr, recipe.lr, where);
      assert.equal(c.weightDecay, recipe.weightDecay, where);
      assert.deepEqual(c.lrSchedule, recipe.schedule, where);
      if ('batchSize' in recipe) assert.equal(c.batchSize, recipe.batchSize, where);
      // Table IV fine-tunes ImageNet-1K weights
      assert.equal(c.pretrained ?? false, arch !== 'resnet18' && arch !== 'wrn34-10', where);
    }
  });
}
