/**
 * Notebooks 04 (Tables II and III, WRN-32-10), 06 (Table V, NMSE vs ALP) and 07 (Fig. 6, PIAT
 * around five methods under AutoAttack, ResNet-18): which methods each trains, and their summaries.
 * At the smoke and quick profiles every architecture is the same small CNN, so these notebooks
 * share the pool's runs with notebook 03.
 */
import {
  MethodsResult,
  bestOnlyWide,
  compareMethodsOn,
  formatComparison,
  fmt2 as f,
  piatGains,
  rankBy,
  verdictSentence,
} from './method-tables';
import { scaleNote } from './profiles';
import { combineVerdicts, Verdict, verdictLabel } from '../stats';
import { PAPER_TABLE2, PAPER_TABLE3, PAPER_TABLE5 } from './paper-values';

export const TABLE2_METHODS = ['PGD-AT', 'ALP', 'TRADES', 'MART', 'MAIL', 'CFA', 'RAT', 'PIAT+NMSE'];
/** Table III and Fig. 6: each method without and with PIAT ("PIAT" alone = PIAT around PGD-AT). */
export const PIAT_PAIRS_METHODS = ['PGD-AT', 'PIAT', 'ALP', 'PIAT+ALP', 'TRADES', 'PIAT+TRADES', 'MART', 'PIAT+MART', 'MAIL', 'PIAT+MAIL'];
export const TABLE5_METHODS = ['ALP', 'NMSE'];
export const WRN_DATASETS = ['cifar10', 'cifar100'] as const;
export const FIG6_DATASETS = ['cifar10', 'cifar100', 'svhn'] as const;

const quickNote = (results: MethodsResult[]) => (results[0] ? scaleNote(results[0].profile) : '');

/** Gains of PIAT per method and column, with the paper's CIFAR-10 gains beside them. */
export function piatGainTable(results: MethodsResult[], column: 'AA' | 'PGD20' | 'Clean' = 'AA') {
  const paperRows = PAPER_TABLE3.filter((r) => r.group === 'cifar10').map((r) => ({
    dataset: r.group,
    method: r.method,
    Clean: r.clean,
    PGD20: r.pgd20,
    AA: r.aa,
  }));
  const paper = piatGains(paperRows, column);
  return results.flatMap((r) =>
    piatGains(bestOnlyWide([r]), column).map((g) => ({
      dataset: r.dataset,
      base: g.base,
      without: g.without,
      with_piat: g.with,
      gain: g.gain,
      paper_gain_cifar10: paper.find((p) => p.base === g.base)?.gain ?? NaN,
    })),
  );
}

/** The PIAT name of a base method ("PGD-AT" → "PIAT"). */
const piatOf = (base: string) => (base === 'PGD-AT' ? 'PIAT' : `PIAT+${base}`);

export function table3Summary(results: MethodsResult[]): string {
  const gains = piatGainTable(results, 'AA');
  const pgd = piatGainTable(results, 'PGD20');
  const verdicts: Verdict[] = [];
  const rowsOut = gains.map((g, i) => {
    const r = results.find((x) => x.dataset === g.dataset) as MethodsResult;
    const c = compareMethodsOn(r, piatOf(g.base), g.base, 'aa', 'best');
    verdicts.push(c?.verdict ?? 'inconclusive');
    return `| ${g.dataset} | ${g.base} | ${f(g.without)} | ${f(g.with_piat)} | ${c ? formatComparison(c) : '–'} | ${c ? verdictLabel(c) : '–'} | ${pgd[i].gain >= 0 ? '+' : ''}${f(pgd[i].gain)} | +${f(g.paper_gain_cifar10)} |`;
  });
  const up = gains.filter((g) => g.gain > 0).length;
  const lines = [
    '**Paper (Table III, WRN-32-10; Fig. 6, ResNet-18):** wrapping PGD-AT, ALP, TRADES, MART and MAIL in PIAT raises their AA accuracy on every dataset (CIFAR-10 WRN: +0.57, +2.67, +3.35, +3.26, +4.96 points) while keeping clean accuracy.',
    '',
    '| dataset | method | AA without | AA with PIAT | gain (95% interval) | PIAT raises AA | PGD20 gain | paper AA gain (CIFAR-10) |',
    '|---|---|---|---|---|---|---|---|',
    ...rowsOut,
    '',
    `**Here:** PIAT's mean AA gain is positive for ${up} of ${gains.length} methods. ` +
      (results[0] ? verdictSentence(combineVerdicts(verdicts), results[0]) : '') +
      quickNote(results),
  ];
  return lines.join('\n');
}

export function table2Summary(results: MethodsResult[]): string {
  const lines = [
    '**Paper (Table II, WRN-32-10):** PIAT+NMSE has the highest PGD20 and AA accuracy on CIFAR-10 (58.04 / 53.83) and CIFAR-100 (35.15 / 30.07); CFA is the runner-up.',
    '',
  ];
  for (const r of results) {
    const wide = bestOnlyWide([r]);
    const byAa = rankBy(wide, 'AA');
    const byPgd = rankBy(wide, 'PGD20');
    lines.push(
      `- ${r.dataset}: by AA ${byAa.map((m, i) => `${i + 1}. ${m}`).join(', ')}; PIAT+NMSE is ${byPgd.indexOf('PIAT+NMSE') + 1}. by PGD20.`,
    );
  }
  const first = results.filter((r) => rankBy(bestOnlyWide([r]), 'AA')[0] === 'PIAT+NMSE').length;
  const verdicts = results.flatMap((r) =>
    [...new Set(r.rows.map((x) => x.method))]
      .filter((m) => m !== 'PIAT+NMSE')
      .map((m) => compareMethodsOn(r, 'PIAT+NMSE', m, 'aa', 'best')?.verdict ?? 'inconclusive'),
  );
  lines.push(
    '',
    `**Here:** PIAT+NMSE is first by mean AA on ${first} of ${results.length} dataset(s). ` +
      (results[0] ? verdictSentence(combineVerdicts(verdicts), results[0]) : '') +
      quickNote(results),
  );
  return lines.join('\n');
}

/** Paper rows of Table II for display. */
export const paperTable2 = (group = 'cifar10') => PAPER_TABLE2.filter((r) => r.group === group).map((r) => ({ ...r }));

export function table5Summary(results: MethodsResult[]): string {
  const lines = [
    '**Paper (Table V, ResNet-18, no PIAT):** NMSE beats ALP on clean and AA accuracy (CIFAR-10 clean 84.77 vs 79.74, AA 46.60 vs 46.13; CIFAR-100 AA 24.82 vs 23.57), with PGD20 close (51.56 vs 52.37 on CIFAR-10).',
    '',
    '| dataset | method | Clean | PGD20 | CW | AA | paper Clean | paper PGD20 | paper AA |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  let wins = 0;
  let total = 0;
  const verdicts: Verdict[] = [];
  for (const r of results) {
    const wide = bestOnlyWide([r]);
    for (const row of wide) {
      const p = PAPER_TABLE5.find((x) => x.group === (r.profile === 'paper' ? r.dataset : 'cifar10') && x.method === row.method);
      lines.push(
        `| ${r.dataset} | ${row.method} | ${f(row.Clean as number)} | ${f(row.PGD20 as number)} | ${f(row.CW as number)} | ${f(row.AA as number)} | ${p ? f(p.clean) : '–'} | ${p ? f(p.pgd20) : '–'} | ${p ? f(p.aa) : '–'} |`,
      );
    }
    const a = wide.find((x) => x.method === 'ALP');
    const n = wide.find((x) => x.method === 'NMSE');
    if (a && n) {
      total += 2;
      wins += ((n.Clean as number) > (a.Clean as number) ? 1 : 0) + ((n.AA as number) > (a.AA as number) ? 1 : 0);
      for (const attack of ['clean', 'aa']) verdicts.push(compareMethodsOn(r, 'NMSE', 'ALP', attack, 'best')?.verdict ?? 'inconclusive');
    }
  }
  lines.push(
    '',
    `**Here:** NMSE's mean is above ALP's in ${wins} of ${total} (clean, AA) comparisons. ` +
      (results[0] ? verdictSentence(combineVerdicts(verdicts), results[0]) : '') +
      quickNote(results),
  );
  return lines.join('\n');
}

/** Fig. 6 rows: AA accuracy (Best weights) per dataset, method and with/without PIAT, for a grouped bar chart. */
export function fig6Bars(results: MethodsResult[]) {
  return results.flatMap((r) =>
    bestOnlyWide([r]).map((row) => {
      const m = row.method as string;
      const withPiat = m.startsWith('PIAT');
      const base = m === 'PIAT' ? 'PGD-AT' : withPiat ? m.slice(5) : m;
      return { dataset: r.dataset, method: base, framework: withPiat ? 'with PIAT' : 'without', accuracy: (row.AA as number) / 100 };
    }),
  );
}
