/** Notebook 03, Table I: ResNet-18 on CIFAR-10, CIFAR-100 and SVHN; Best / Final / Diff for Clean, PGD20, CW, AA. */
import { bestFinalColumns, compareMethodsOn, fmt2 as f, MethodsResult, verdictSentence } from './method-tables';
import { combineVerdicts, Verdict } from '../stats';
import { PAPER_TABLE1 } from './paper-values';
import { Profile } from './profiles';

export const TABLE1_METHODS = ['PGD-AT', 'ALP', 'TRADES', 'MART', 'MAIL', 'CFA', 'RAT', 'PIAT+NMSE'];
/** Fig. 1's four, which the overfit profile trains for Table I (all eight at six seeds would take many hours on a 2-core CPU). */
export const TABLE1_CORE_METHODS = ['PGD-AT', 'TRADES', 'MART', 'PIAT+NMSE'];

/** The methods Table I trains at a profile: the core four at overfit, all eight otherwise. */
export function table1Methods(profile: Profile): string[] {
  return profile === 'overfit' ? TABLE1_CORE_METHODS : TABLE1_METHODS;
}
export const TABLE1_DATASETS = ['cifar10', 'cifar100', 'svhn'] as const;

/** Where PIAT+NMSE ranks among the methods on each robust attack (1 = best), for Best and Final, and by Diff (1 = smallest). */
export function piatRanks(r: MethodsResult, method = 'PIAT+NMSE') {
  const attacks = [...new Set(r.rows.map((x) => x.attack))].filter((a) => a !== 'clean');
  return attacks.map((attack) => {
    const rows = r.rows.filter((x) => x.attack === attack);
    const me = rows.find((x) => x.method === method);
    const rank = (key: 'best' | 'final' | 'diff', lowerIsBetter = false) =>
      me ? 1 + rows.filter((x) => (lowerIsBetter ? x[key] < me[key] : x[key] > me[key])).length : NaN;
    return {
      dataset: r.dataset,
      attack,
      best_rank: rank('best'),
      final_rank: rank('final'),
      diff_rank: rank('diff', true),
      of: rows.length,
    };
  });
}

/** The paper's rows for one dataset, in Table I's layout, for display beside ours. */
export function paperTable1(dataset: string) {
  return PAPER_TABLE1.filter((r) => r.dataset === dataset).map((r) => ({
    dataset: r.dataset,
    method: r.method,
    ...Object.fromEntries(Object.entries(r.values).flatMap(([a, v]) => bestFinalColumns(a, v))),
  }));
}

/** Is PIAT+NMSE above every other method on one attack and checkpoint? One verdict over its pairwise comparisons. */
export function mostRobustVerdict(r: MethodsResult, attack: string, which: 'best' | 'final', method = 'PIAT+NMSE'): Verdict {
  const others = [...new Set(r.rows.map((x) => x.method))].filter((m) => m !== method);
  return combineVerdicts(others.map((m) => compareMethodsOn(r, method, m, attack, which)?.verdict ?? 'inconclusive'));
}

export function table1Summary(results: MethodsResult[]): string {
  const lines = [
    '**Paper (Table I, ResNet-18):** PIAT+NMSE has the best robustness on all three datasets under PGD20, CW and AA, at both the Best and the Final checkpoint, with a small Best − Final gap (CIFAR-10 AA: 48.80 / 47.97, diff 0.83; PGD-AT 46.33 / 41.36, diff 4.97).',
    '',
    '| dataset | attack | PIAT+NMSE rank, Best | most robust, Best | rank, Final | most robust, Final | rank of Diff (1 = smallest) |',
    '|---|---|---|---|---|---|---|',
  ];
  const verdicts: Verdict[] = [];
  for (const r of results) {
    for (const k of piatRanks(r)) {
      const vb = mostRobustVerdict(r, k.attack, 'best');
      const vf = mostRobustVerdict(r, k.attack, 'final');
      verdicts.push(vb, vf);
      lines.push(
        `| ${k.dataset} | ${k.attack} | ${k.best_rank} of ${k.of} | ${vb} | ${k.final_rank} of ${k.of} | ${vf} | ${k.diff_rank} of ${k.of} |`,
      );
    }
  }
  const first = results.flatMap((r) => piatRanks(r)).reduce((n, k) => n + (k.best_rank === 1 ? 1 : 0) + (k.final_rank === 1 ? 1 : 0), 0);
  const pgd = results.flatMap((r) =>
    r.rows
      .filter((x) => x.attack === 'pgd20' && x.method === 'PIAT+NMSE')
      .map((x) => `${r.dataset}: Best ${f(x.best)}, Final ${f(x.final)}`),
  );
  lines.push(
    '',
    `**Here:** PIAT+NMSE ranks first in ${first} of ${verdicts.length} (attack × checkpoint) robust columns (PGD20 ${pgd.join('; ')}); "most robust" holds in a column only when it is above every other method by more than the uncertainty. ` +
      (results[0] ? verdictSentence(combineVerdicts(verdicts), results[0]) : '') +
      (results[0]?.profile !== 'paper'
        ? " (Small model and Fashion-MNIST at ε = 0.1: a qualitative check only, not the paper's numbers.)"
        : ''),
  );
  return lines.join('\n');
}
