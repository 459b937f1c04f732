/**
 * Notebook 05, Table IV: ViTs trained with a base method, with A&P (ARD + PRM) and with PIAT
 * around A&P. As the paper, the paper profile fine-tunes ImageNet-1K-pretrained ConViT-B, ViT-B and
 * DeiT-S on CIFAR-10 from timm's weight files, which the user places under datasets/pretrained/
 * (models/pytorch/pretrained.ts; without them it stops before training anything, saying which
 * files and how to get them). The small profiles train a 2-block ViT from scratch on Fashion-MNIST.
 */
import { Profile } from './profiles';
import { bestOnlyWide, compareMethodsOn, fmt2 as f, MethodsResult, runMethodsOn, verdictSentence } from './method-tables';
import { combineVerdicts, Verdict } from '../stats';
import { pretrainedFile, ViTArch } from './pool';
import { PAPER_TABLE4 } from './paper-values';

const FAMILY = (base: string) => [base, `${base}+A&P`, `PIAT+${base}+A&P`];

/** Methods per profile: the PGD-AT family at smoke and quick (time), all three bases at paper. */
export function table4Methods(profile: Profile): string[] {
  return (profile === 'paper' ? ['PGD-AT', 'TRADES', 'MART'] : ['PGD-AT']).flatMap(FAMILY);
}

export function table4Archs(profile: Profile): ViTArch[] {
  return profile === 'paper' ? ['convit-b', 'vit-b', 'deit-s'] : ['vit-tiny'];
}

const PAPER_MODEL: Record<ViTArch, string> = { 'convit-b': 'ConViT-B', 'vit-b': 'ViT-B', 'deit-s': 'DeiT-S', 'vit-tiny': 'ViT-B' };

export async function runTable4(profile: Profile, o: { progress?: boolean } = {}): Promise<{ arch: ViTArch; result: MethodsResult }[]> {
  const out: { arch: ViTArch; result: MethodsResult }[] = [];
  // every pretrained file is checked before any training: a missing third one must not cost two models' runs
  if (profile === 'paper') table4Archs(profile).forEach(pretrainedFile);
  for (const arch of table4Archs(profile))
    out.push({
      arch,
      result: await runMethodsOn(profile, profile === 'paper' ? 'cifar10' : 'fashion-mnist', table4Methods(profile), {
        arch,
        progress: o.progress,
      }),
    });
  return out;
}

export function table4Rows(results: { arch: ViTArch; result: MethodsResult }[]) {
  return results.flatMap(({ arch, result }) => bestOnlyWide([result]).map((r) => ({ model: arch, ...r })));
}

export function table4Summary(results: { arch: ViTArch; result: MethodsResult }[], profile: Profile): string {
  const lines = [
    '**Paper (Table IV, CIFAR-10, ImageNet-pretrained ViTs):** A&P raises the robustness of PGD-AT, TRADES and MART on every ViT, and PIAT around A&P raises it further (ConViT-B AA: PGD-AT 34.07 → A&P 49.01 → PIAT+A&P 51.86; ViT-B 48.99 → 49.67 → 52.27; DeiT-S 47.28 → 47.92 → 49.31).',
    '',
    '| model | method | ours Clean | ours PGD20 | ours AA | paper model | paper Clean | paper PGD20 | paper AA |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  let held = 0;
  let checks = 0;
  const verdicts: Verdict[] = [];
  for (const { arch, result } of results) {
    const wide = bestOnlyWide([result]);
    for (const r of wide) {
      const p = PAPER_TABLE4.find((x) => x.group === PAPER_MODEL[arch] && x.method === r.method);
      lines.push(
        `| ${arch} | ${r.method} | ${f(r.Clean as number)} | ${f(r.PGD20 as number)} | ${f(r.AA as number)} | ${PAPER_MODEL[arch]} | ${p ? f(p.clean) : '–'} | ${p ? f(p.pgd20) : '–'} | ${p ? f(p.aa) : '–'} |`,
      );
    }
    for (const base of ['PGD-AT', 'TRADES', 'MART']) {
      const [a, b, c] = FAMILY(base).map((m) => wide.find((x) => x.method === m));
      if (!a || !b || !c) continue;
      checks += 2;
      held += ((b.AA as number) > (a.AA as number) ? 1 : 0) + ((c.AA as number) > (b.AA as number) ? 1 : 0);
      verdicts.push(compareMethodsOn(result, b.method as string, a.method as string, 'aa', 'best')?.verdict ?? 'inconclusive');
      verdicts.push(compareMethodsOn(result, c.method as string, b.method as string, 'aa', 'best')?.verdict ?? 'inconclusive');
    }
  }
  lines.push(
    '',
    `**Here:** of ${checks} steps (base → +A&P → PIAT+A&P) mean AA accuracy rises in ${held}. ` +
      (results[0] ? verdictSentence(combineVerdicts(verdicts), results[0].result) : '') +
      collapsedNote(results) +
      (profile !== 'paper'
        ? ' (A 2-block ViT trained from scratch on Fashion-MNIST for a few epochs, PGD-AT family only: a qualitative check; the paper fine-tunes large pretrained ViTs.)'
        : " (Fine-tuned from timm's ImageNet-1K weights, as the paper.)"),
  );
  return lines.join('\n');
}

/**
 * Runs whose Best clean accuracy is at chance (at most 1.5× 1/classes, 10 classes here): adversarial
 * training from scratch can leave a ViT predicting one class, which makes any step above it easy.
 */
function collapsedNote(results: { arch: ViTArch; result: MethodsResult }[]): string {
  const chance = 1.5 / 10;
  const collapsed = results.flatMap(({ arch, result }) =>
    bestOnlyWide([result])
      .filter((r) => (r.Clean as number) <= 100 * chance)
      .map((r) => `${r.method} (${arch}, clean ${f(r.Clean as number)} %)`),
  );
  return collapsed.length
    ? ` Note: ${collapsed.join(', ')} did not learn beyond chance level; ViTs trained adversarially from scratch can collapse to one class, so the step above such a run says little.`
    : '';
}
