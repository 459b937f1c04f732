/**
 * Table I at the overfit profile (notebook 03) from committed data: each run's final evaluation
 * (clean, PGD-20, CW-20, AutoAttack) of its Best and Final weights, kept per image in its
 * eval-best-*.json and eval-final-*.json, compared paired by test image and by seed.
 */
import { sideOf } from '../eval/compare-runs';
import { pairedDifference, PairedDifference, SeedsByImage, verdictLabel } from '../stats';
import { aaLabel, FinalEvalConfig } from './pool';
import { PAPER_TABLE1 } from './paper-values';
import { formatShort, markdownTable, multiplicityNote, pct, versusCell } from './results-format';

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

/** Every method's comparisons under each attack, in the order of `methods`; methods with no evaluated run are left out. */
export function finalEvalComparisons(runs: FinalEvalRun[], methods: string[], attacks: string[], base: string): FinalEvalComparison[] {
  const of = (m: string) => runs.filter((r) => r.method === m).sort((a, b) => a.seed - b.seed);
  const baseRuns = of(base);
  return methods.flatMap((method) => {
    const mine = of(method);
    if (!mine.length) return [];
    const shared = method === base ? [] : mine.filter((r) => baseRuns.some((b) => b.seed === r.seed));
    const dirs = (rs: FinalEvalRun[]) => rs.map((r) => r.dir);
    const baseShared = baseRuns.filter((b) => shared.some((r) => r.seed === b.seed));
    return attacks.map((attack) => {
      const best = sideOf(dirs(mine), { which: 'best', attack });
      const final = sideOf(dirs(mine), { which: 'final', attack });
      const versus = (which: 'best' | 'final') =>
        pairedDifference(sideOf(dirs(shared), { which, attack }), sideOf(dirs(baseShared), { which, attack }));
      return {
        method,
        attack,
        seeds: mine.map((r) => r.seed),
        best: meanOf(best),
        final: meanOf(final),
        bestVsFinal: pairedDifference(best, final),
        ...(shared.length ? { vsBase: { seeds: shared.map((r) => r.seed), best: versus('best'), final: versus('final') } } : {}),
      };
    });
  });
}

/** The attacks' names as the tables print them (AutoAttack's settings are in the section's text). */
const attackTitle = (attack: string): string => ({ clean: 'Clean', pgd20: 'PGD-20', cw20: 'CW-20', aa: 'AA' })[attack] ?? attack;

/** docs/results.md's section: the accuracies of Best and Final, and the paired comparisons under each attack. */
export function finalEvalSection(c: FinalEvalComparison[], f: FinalEvalConfig, base: string): string[] {
  if (!c.length) return [];
  const methods = [...new Set(c.map((x) => x.method))];
  const attacks = [...new Set(c.map((x) => x.attack))];
  const robust = c.filter((x) => x.attack !== 'clean');
  const paper = PAPER_TABLE1.filter((r) => r.dataset === 'cifar10' && methods.includes(r.method));
  return [
    '## Table I at the overfit profile (notebook 03): the final evaluation of Best and Final',
    '',
    `${methods.join(', ')} at the overfit profile; each run's Best weights (chosen on the held-out training images) and Final weights evaluated on the first ${f.n} test images: ${attacks.map((a) => (a === 'aa' ? aaLabel(f) : attackTitle(a))).join(', ')} (ε = ${f.eps}, PGD and CW step ${f.alpha}). Regenerate: \`PIAT_PROFILE=overfit npm run notebooks -- notebooks/03-table1-resnet18.ipynb\`, then \`node dist/src/cli.js results --collect\`.`,
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
    `### Paired comparisons, by test image and seed`,
    '',
    multiplicityNote(robust.length * 2 + robust.filter((x) => x.vsBase).length, ` (less, as all share the ${base} runs)`),
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

/** The README's lines: under AutoAttack (Table I's headline column), the base's Best − Final and each method against the base at Final. */
export function finalEvalLines(c: FinalEvalComparison[], f: FinalEvalConfig, base: string): string[] {
  const aa = c.filter((x) => x.attack === 'aa');
  const seeds = (s: number[]) => `${s.length} seed${s.length > 1 ? 's' : ''}`;
  const under = `under ${aaLabel(f)}`;
  return aa.flatMap((x) => {
    if (x.method === base)
      return [
        `- "${base} overfits robustly" ${under} (${seeds(x.seeds)}, overfit profile, final evaluation): Best − Final ${formatShort(x.bestVsFinal)}, **${verdictLabel(x.bestVsFinal)}**.`,
      ];
    if (!x.vsBase) return [];
    const d = x.vsBase.final;
    return [
      `- ${x.method} ends more robust than ${base} ${under} (${seeds(x.vsBase.seeds)}, overfit profile, final evaluation): ${formatShort(d)}, **${verdictLabel(d)}**.`,
    ];
  });
}
