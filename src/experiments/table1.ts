/** Notebook 03, Table I: ResNet-18 on CIFAR-10, CIFAR-100 and SVHN; Best / Final / Diff for Clean, PGD20, CW, AA. */
import { bestFinalColumns, claimVerdict, fmt2 as f, MethodsResult } from './method-tables';
import { PAPER_TABLE1 } from './paper-values';

export const TABLE1_METHODS = ['PGD-AT', 'ALP', 'TRADES', 'MART', 'MAIL', 'CFA', 'RAT', 'PIAT+NMSE'];
export const TABLE1_DATASETS = ['cifar10', 'cifar100', 'svhn'] as const;


/** Where PIAT+NMSE ranks among the methods on each robust attack (1 = best), for Best and Final, and by Diff (1 = smallest). */
export function piatRanks(r: MethodsResult, method = 'PIAT+NMSE') {
  const attacks = [...new Set(r.rows.map((x) => x.attack))].filter((a) => a !== 'clean');
  return attacks.map((attack) => {
    const rows = r.rows.filter((x) => x.attack === attack);
    const me = rows.find((x) => x.method === method);
    const rank = (key: 'best' | 'final' | 'diff', lowerIsBetter = false) => (me ? 1 + rows.filter((x) => (lowerIsBetter ? x[key] < me[key] : x[key] > me[key])).length : NaN);
    return { dataset: r.dataset, attack, best_rank: rank('best'), final_rank: rank('final'), diff_rank: rank('diff', true), of: rows.length };
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

export function table1Summary(results: MethodsResult[]): string {
  const lines = [
    '**Paper (Table I, ResNet-18):** PIAT+NMSE has the best robustness on all three datasets under PGD20, CW and AA, at both the Best and the Final checkpoint, with a small Best − Final gap (CIFAR-10 AA: 48.80 / 47.97, diff 0.83; PGD-AT 46.33 / 41.36, diff 4.97).',
    '',
    '| dataset | attack | PIAT+NMSE rank, Best | rank, Final | rank of Diff (1 = smallest) |',
    '|---|---|---|---|---|',
  ];
  let agree = 0;
  let total = 0;
  for (const r of results) {
    for (const k of piatRanks(r)) {
      lines.push(`| ${k.dataset} | ${k.attack} | ${k.best_rank} of ${k.of} | ${k.final_rank} of ${k.of} | ${k.diff_rank} of ${k.of} |`);
      total += 2;
      agree += (k.best_rank === 1 ? 1 : 0) + (k.final_rank === 1 ? 1 : 0);
    }
  }
  const pgd = results.flatMap((r) => r.rows.filter((x) => x.attack === 'pgd20' && x.method === 'PIAT+NMSE').map((x) => `${r.dataset}: Best ${f(x.best)}, Final ${f(x.final)}`));
  lines.push(
    '',
    `**Here:** PIAT+NMSE is first in ${agree} of ${total} (attack × checkpoint) robust columns (PGD20 ${pgd.join('; ')}). ` +
      claimVerdict(agree, total, Math.ceil(total / 2)) +
      (results[0]?.profile !== 'paper' ? ' (Small model, few epochs and Fashion-MNIST at ε = 0.1: a qualitative check only, not the paper\'s numbers.)' : ''),
  );
  return lines.join('\n');
}
