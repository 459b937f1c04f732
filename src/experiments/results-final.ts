/**
 * Table I at the overfit profile (notebook 03) from committed data: each run's final evaluation
 * (clean, PGD-20, CW-20, AutoAttack) of its Best and Final weights, kept per image in its
 * eval-best-*.json and eval-final-*.json, compared paired by test image and by seed.
 */
import { evalSettingsKey, sideOf } from '../eval/compare-runs';
import { combineVerdicts, pairedDifference, PairedDifference, SeedsByImage, Verdict } from '../stats';
import { aaLabel, FinalEvalConfig } from './pool';
import { PAPER_TABLE1 } from './paper-values';
import { formatCompact, markdownTable, multiplicityNote, pct, versusCell } from './results-format';

/** A committed run that has its final evaluation. */
export interface FinalEvalRun {
  method: string;
  seed: number;
  dir: string;
}

/** One method under one attack of the final evaluation. */
export interface FinalEvalComparison {
  method: string;
  attack: string;
  seeds: number[];
  /** accuracy of the Best and of the Final weights, the mean over seeds */
  best: number;
  final: number;
  /** the method's own Best − Final (robust overfitting), paired */
  bestVsFinal: PairedDifference;
  /** the method minus the base at Best and at Final, over the seeds both have (absent for the base itself) */
  vsBase?: { seeds: number[]; best: PairedDifference; final: PairedDifference };
}

const meanOf = (side: SeedsByImage) =>
  side.values.reduce((s, v) => s + Array.from(v).reduce((a, b) => a + b, 0) / v.length, 0) / side.values.length;

/** A's accuracy minus B's at one checkpoint under one attack, paired over the seeds both have (undefined when they share none). */
function pairedOn(runs: FinalEvalRun[], a: string, b: string, attack: string, which: 'best' | 'final', settings: string) {
  const of = (m: string) => runs.filter((r) => r.method === m).sort((x, y) => x.seed - y.seed);
  const bs = of(b);
  const as = of(a).filter((r) => bs.some((x) => x.seed === r.seed));
  if (!as.length) return undefined;
  const side = (rs: FinalEvalRun[]) =>
    sideOf(
      rs.map((r) => r.dir),
      { which, attack, settings },
    );
  return { seeds: as.map((r) => r.seed), d: pairedDifference(side(as), side(bs.filter((x) => as.some((r) => r.seed === x.seed)))) };
}

/** Notebook 03's claim "`method` is the most robust" under one attack at one checkpoint: its difference with each other method, and the combined verdict. */
export interface MostRobust {
  attack: string;
  which: 'best' | 'final';
  versus: { other: string; seeds: number[]; d: PairedDifference }[];
  verdict: Verdict;
}

/**
 * The claim for every robust attack of the final evaluation `f` and both checkpoints, as the notebook
 * judges it: combineVerdicts over the pairwise comparisons, a method without runs counting as
 * inconclusive (mostRobustVerdict).
 */
export function mostRobust(runs: FinalEvalRun[], method: string, others: string[], f: FinalEvalConfig): MostRobust[] {
  if (!runs.some((r) => r.method === method)) return [];
  const settings = evalSettingsKey(f);
  return f.attacks
    .filter((a) => a !== 'clean')
    .flatMap((attack) =>
      (['best', 'final'] as const).map((which) => {
        const versus = others.flatMap((other) => {
          const p = pairedOn(runs, method, other, attack, which, settings);
          return p ? [{ other, ...p }] : [];
        });
        const verdicts = others.map((o) => versus.find((v) => v.other === o)?.d.verdict ?? 'inconclusive');
        return { attack, which, versus, verdict: combineVerdicts(verdicts) };
      }),
    );
}

/** Every method's comparisons under each attack of the final evaluation `f`, in the order of `methods`; methods with no evaluated run are left out. */
export function finalEvalComparisons(runs: FinalEvalRun[], methods: string[], f: FinalEvalConfig, base: string): FinalEvalComparison[] {
  const settings = evalSettingsKey(f);
  return methods.flatMap((method) => {
    const dirs = runs
      .filter((r) => r.method === method)
      .sort((a, b) => a.seed - b.seed)
      .map((r) => r.dir);
    if (!dirs.length) return [];
    return f.attacks.map((attack) => {
      const best = sideOf(dirs, { which: 'best', attack, settings });
      const final = sideOf(dirs, { which: 'final', attack, settings });
      const [atBest, atFinal] =
        method === base ? [] : (['best', 'final'] as const).map((w) => pairedOn(runs, method, base, attack, w, settings));
      return {
        method,
        attack,
        seeds: best.seeds,
        best: meanOf(best),
        final: meanOf(final),
        bestVsFinal: pairedDifference(best, final),
        ...(atBest && atFinal ? { vsBase: { seeds: atBest.seeds, best: atBest.d, final: atFinal.d } } : {}),
      };
    });
  });
}

/** The attacks' names as the tables print them (AutoAttack's settings are in the section's text). */
const attackTitle = (attack: string): string => ({ clean: 'Clean', pgd20: 'PGD-20', cw20: 'CW-20', aa: 'AA' })[attack] ?? attack;

/** docs/results.md's section: the accuracies of Best and Final, the paired comparisons under each attack and the notebook's claim. */
export function finalEvalSection(c: FinalEvalComparison[], most: MostRobust[], f: FinalEvalConfig, base: string, method: string): string[] {
  if (!c.length) return [];
  const methods = [...new Set(c.map((x) => x.method))];
  const attacks = [...new Set(c.map((x) => x.attack))];
  const robust = c.filter((x) => x.attack !== 'clean');
  const paper = PAPER_TABLE1.filter((r) => r.dataset === 'cifar10' && methods.includes(r.method));
  const others = [...new Set(most.flatMap((m) => m.versus.map((v) => v.other)))];
  return [
    '## Table I at the overfit profile (notebook 03): the final evaluation of Best and Final',
    '',
    `${methods.join(', ')} at the overfit profile, seed${c[0].seeds.length === 1 ? '' : 's'} ${c[0].seeds.join(', ')} (those for which all ${methods.length} have their final evaluation committed); each run's Best weights (chosen on the held-out training images) and Final weights evaluated on the first ${f.n} test images: ${attacks.map((a) => (a === 'aa' ? aaLabel(f) : attackTitle(a))).join(', ')} (ε = ${f.eps}, PGD and CW step ${f.alpha}). Regenerate: \`PIAT_PROFILE=overfit npm run notebooks -- notebooks/03-table1-resnet18.ipynb\`, then \`node dist/src/cli.js results --collect\`.`,
    '',
    ...(paper.length
      ? [
          `**Paper (Table I, CIFAR-10, ResNet-18, AA Best / Final):** ${paper.map((r) => `${r.method} ${r.values.aa.best.toFixed(2)} / ${r.values.aa.final.toFixed(2)}`).join(', ')}.`,
          '',
        ]
      : []),
    '### Accuracy, percent (mean over seeds): Best / Final',
    '',
    ...markdownTable(
      methods.map((m) => {
        const row: Record<string, string> = { method: m, seeds: c.find((x) => x.method === m)!.seeds.join(', ') };
        for (const a of attacks) {
          const x = c.find((y) => y.method === m && y.attack === a);
          row[attackTitle(a)] = x ? `${pct(x.best)} / ${pct(x.final)}` : '–';
        }
        return row;
      }),
    ),
    '',
    ...(most.length
      ? [
          `### "${method} is the most robust" (the notebook's claim: above every other method, each comparison paired)`,
          '',
          `| attack | weights | ${others.map((o) => `${method} − ${o}`).join(' | ')} | verdict |`,
          `|---|---|${others.map(() => '---|').join('')}---|`,
          ...most.map(
            (m) =>
              `| ${attackTitle(m.attack)} | ${m.which === 'best' ? 'Best' : 'Final'} | ${others.map((o) => versusCell(m.versus.find((v) => v.other === o)?.d)).join(' | ')} | **${m.verdict}** |`,
          ),
          '',
          `Over all columns (the notebook's summary): **${combineVerdicts(most.map((m) => m.verdict))}**.`,
          '',
        ]
      : []),
    '### Paired comparisons, by test image and seed',
    '',
    multiplicityNote(robust.length + robust.filter((x) => x.vsBase).length * 2, ` (less, as all share the ${base} runs)`),
    '',
    `| method | attack | seeds | its own Best − Final | method − ${base} at Best | method − ${base} at Final |`,
    '|---|---|---|---|---|---|',
    ...robust.map(
      (x) =>
        `| ${x.method} | ${attackTitle(x.attack)} | ${x.seeds.join(', ')} | ${versusCell(x.bestVsFinal)} | ${x.vsBase ? versusCell(x.vsBase.best) : '–'} | ${x.vsBase ? versusCell(x.vsBase.final) : '–'} |`,
    ),
    '',
  ];
}

/**
 * The README's lines, the notebook's claims as it prints them: "`method` is the most robust" under
 * each attack at Best and at Final, and under AutoAttack (Table I's headline column) each method's Best − Final.
 */
export function finalEvalLines(c: FinalEvalComparison[], most: MostRobust[], f: FinalEvalConfig, method: string): string[] {
  if (!c.length) return [];
  const where = `Table I at the overfit profile (notebook 03's final evaluation, ${c[0].seeds.length} seed${c[0].seeds.length === 1 ? '' : 's'}, ${c[0].bestVsFinal.n} test images, ${aaLabel(f)})`;
  const byAttack = [...new Set(most.map((m) => m.attack))].map(
    (a) =>
      `${attackTitle(a)} ${most
        .filter((m) => m.attack === a)
        .map((m) => `${m.which === 'best' ? 'Best' : 'Final'} **${m.verdict}**`)
        .join(', ')}`,
  );
  const falls = c.filter((x) => x.attack === 'aa').map((x) => `${x.method} ${formatCompact(x.bestVsFinal)}`);
  return [
    ...(most.length
      ? [
          `- ${where}: "${method} is the most robust" (above every other method, paired): ${byAttack.join('; ')}; over all columns **${combineVerdicts(most.map((m) => m.verdict))}**.`,
        ]
      : []),
    ...(falls.length
      ? [`- ${where}: robust accuracy falls from Best to Final under AA (points, 95 % interval): ${falls.join('; ')}.`]
      : []),
  ];
}
