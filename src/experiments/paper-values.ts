/**
 * The numbers the paper reports (arXiv 2511.00836, Tables I–V), for the notebooks to set beside
 * ours. Accuracies in percent. Rows are kept in the paper's layout as text and parsed once.
 * (The extracted text lost MAIL's row labels; they are restored from the tables' row order.)
 */

export interface PaperBestFinal {
  dataset: string;
  method: string;
  /** attack → best, final, diff (Table I) */
  values: Record<'clean' | 'pgd20' | 'cw20' | 'aa', { best: number; final: number; diff: number }>;
}

export interface PaperRow {
  /** dataset (Tables II, III, V) or model (Table IV) */
  group: string;
  method: string;
  clean: number;
  pgd20: number;
  aa: number;
}

const TABLE1 = `
cifar10 PGD-AT 84.28 85.62 1.34 50.29 45.86 4.43 49.31 43.25 6.06 46.33 41.36 4.97
cifar10 ALP 79.74 81.45 1.71 52.37 48.62 3.75 49.60 43.87 5.73 46.13 41.88 4.25
cifar10 TRADES 82.39 83.04 0.65 53.60 50.74 2.86 50.90 49.04 1.86 48.04 46.80 1.24
cifar10 MART 81.91 83.99 2.08 53.70 48.63 5.07 49.35 44.92 4.43 47.45 43.65 3.80
cifar10 MAIL 82.65 85.17 2.49 51.15 47.14 4.01 48.88 44.38 4.50 45.16 43.02 2.14
cifar10 CFA 82.80 83.88 1.08 53.24 51.69 1.55 51.45 49.97 1.48 48.40 47.74 0.64
cifar10 RAT 81.63 82.61 0.98 52.25 50.09 2.16 49.47 47.93 1.54 45.20 44.30 0.90
cifar10 PIAT+NMSE 80.96 82.84 1.88 53.74 52.81 0.93 51.72 50.49 1.23 48.80 47.97 0.83
cifar100 PGD-AT 58.48 58.53 0.05 28.36 21.72 6.64 27.06 21.12 5.94 23.85 19.55 4.30
cifar100 ALP 57.29 58.65 1.36 28.12 24.66 3.46 26.84 22.17 4.67 23.57 20.49 3.08
cifar100 TRADES 56.71 56.32 0.39 29.19 27.70 1.49 26.05 24.53 1.52 23.91 22.70 1.21
cifar100 MART 55.26 57.77 2.51 30.10 25.96 4.14 26.30 23.79 2.51 24.13 22.35 1.78
cifar100 MAIL 58.73 59.00 0.27 27.99 24.69 3.30 26.28 23.37 2.91 22.50 20.86 1.64
cifar100 CFA 56.28 61.62 5.34 30.64 29.74 0.90 27.74 25.95 1.79 24.26 21.58 2.68
cifar100 RAT 53.35 56.35 3.00 28.69 27.67 1.02 25.52 23.69 1.83 23.10 22.40 0.70
cifar100 PIAT+NMSE 56.04 57.16 1.12 31.45 30.87 0.58 28.74 27.76 1.02 26.09 25.13 0.96
svhn PGD-AT 93.85 94.33 0.48 59.01 52.35 6.66 48.66 44.13 4.53 43.02 38.66 4.36
svhn ALP 92.54 93.67 1.13 59.13 55.12 5.01 52.22 48.53 3.69 45.67 42.41 3.26
svhn TRADES 90.88 91.34 0.46 59.50 57.04 2.46 52.76 50.42 2.34 46.59 44.87 1.72
svhn MART 90.84 92.95 2.11 57.70 54.29 3.41 52.95 50.09 2.86 46.98 43.75 3.23
svhn MAIL 90.15 93.69 3.54 57.47 54.60 3.14 52.78 49.73 3.05 46.26 41.24 5.02
svhn CFA 92.23 93.68 1.45 60.77 58.85 1.92 55.17 52.71 2.46 49.64 46.53 3.11
svhn RAT 89.23 90.97 1.74 45.83 38.25 7.58 44.15 32.71 11.44 46.10 22.40 23.70
svhn PIAT+NMSE 91.70 93.07 1.37 61.21 59.84 1.37 55.88 54.45 1.43 51.29 49.82 1.47`;

// Table II: WRN-32-10, best checkpoint (clean, PGD20, AA)
const TABLE2 = `
cifar10 PGD-AT 86.87 48.77 47.78
cifar10 ALP 84.18 53.55 49.68
cifar10 TRADES 82.13 55.14 50.38
cifar10 MART 81.57 56.44 49.58
cifar10 MAIL 84.96 52.58 47.26
cifar10 CFA 86.44 57.84 52.96
cifar10 RAT 83.46 57.07 51.56
cifar10 PIAT+NMSE 85.04 58.04 53.83
cifar100 PGD-AT 59.30 28.13 23.99
cifar100 ALP 58.11 28.59 24.45
cifar100 TRADES 57.99 31.97 26.76
cifar100 MART 55.19 31.16 26.46
cifar100 MAIL 58.04 29.50 23.97
cifar100 CFA 63.37 33.89 28.98
cifar100 RAT 60.89 33.39 27.95
cifar100 PIAT+NMSE 61.04 35.15 30.07`;

// Table III: WRN-32-10, each method with and without PIAT
const TABLE3 = `
cifar10 PGD-AT 86.87 48.77 47.78
cifar10 PIAT 85.56 52.80 48.35
cifar10 ALP 84.18 53.55 49.68
cifar10 PIAT+ALP 83.35 57.71 52.35
cifar10 TRADES 82.13 55.14 50.38
cifar10 PIAT+TRADES 82.08 58.93 53.73
cifar10 MART 81.57 56.44 49.58
cifar10 PIAT+MART 79.88 59.51 52.84
cifar10 MAIL 84.96 52.58 47.26
cifar10 PIAT+MAIL 84.24 57.53 52.22
cifar100 PGD-AT 59.30 28.13 23.99
cifar100 PIAT 60.09 34.46 29.47
cifar100 ALP 58.11 28.59 24.45
cifar100 PIAT+ALP 59.25 34.04 28.94
cifar100 TRADES 57.99 31.97 26.76
cifar100 PIAT+TRADES 59.78 34.52 29.25
cifar100 MART 55.19 31.16 26.46
cifar100 PIAT+MART 54.32 34.87 28.79
cifar100 MAIL 58.04 29.50 23.97
cifar100 PIAT+MAIL 58.52 33.65 28.00`;

// Table IV: ViTs fine-tuned from ImageNet weights on CIFAR-10, base method, +A&P, PIAT+…+A&P
const TABLE4 = `
ConViT-B PGD-AT 61.47 38.64 34.07
ConViT-B PGD-AT+A&P 85.21 53.25 49.01
ConViT-B PIAT+PGD-AT+A&P 87.50 56.25 51.86
ConViT-B TRADES 82.75 52.77 49.61
ConViT-B TRADES+A&P 83.51 53.21 50.11
ConViT-B PIAT+TRADES+A&P 86.03 55.88 52.35
ConViT-B MART 63.61 42.51 37.08
ConViT-B MART+A&P 80.32 53.11 48.35
ConViT-B PIAT+MART+A&P 81.20 56.17 51.13
ViT-B PGD-AT 83.07 52.93 48.99
ViT-B PGD-AT+A&P 84.64 53.44 49.67
ViT-B PIAT+PGD-AT+A&P 87.83 56.34 52.27
ViT-B TRADES 83.45 53.07 49.76
ViT-B TRADES+A&P 83.91 53.52 50.56
ViT-B PIAT+TRADES+A&P 87.09 55.97 52.57
ViT-B MART 77.05 52.99 47.95
ViT-B MART+A&P 78.75 53.51 49.01
ViT-B PIAT+MART+A&P 82.23 55.94 51.03
DeiT-S PGD-AT 81.36 47.94 47.28
DeiT-S PGD-AT+A&P 83.08 52.28 47.92
DeiT-S PIAT+PGD-AT+A&P 83.22 53.55 49.31
DeiT-S TRADES 82.32 52.52 49.07
DeiT-S TRADES+A&P 82.81 52.74 49.40
DeiT-S PIAT+TRADES+A&P 83.43 53.31 50.10
DeiT-S MART 76.77 52.06 47.06
DeiT-S MART+A&P 78.43 52.98 47.94
DeiT-S PIAT+MART+A&P 78.39 53.83 48.97`;

// Table V: ResNet-18, PGD-AT + ALP vs PGD-AT + NMSE (no PIAT)
const TABLE5 = `
cifar10 ALP 79.74 52.37 46.13
cifar10 NMSE 84.77 51.56 46.60
cifar100 ALP 57.29 28.12 23.57
cifar100 NMSE 58.88 29.55 24.82`;

function parse(text: string): [string, string, number[]][] {
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const [g, m, ...nums] = l.trim().split(/\s+/);
      return [g, m, nums.map(Number)];
    });
}

export const PAPER_TABLE1: PaperBestFinal[] = parse(TABLE1).map(([dataset, method, v]) => {
  const triple = (i: number) => ({ best: v[i], final: v[i + 1], diff: v[i + 2] });
  return { dataset, method, values: { clean: triple(0), pgd20: triple(3), cw20: triple(6), aa: triple(9) } };
});

const rows = (text: string): PaperRow[] => parse(text).map(([group, method, v]) => ({ group, method, clean: v[0], pgd20: v[1], aa: v[2] }));
export const PAPER_TABLE2 = rows(TABLE2);
export const PAPER_TABLE3 = rows(TABLE3);
export const PAPER_TABLE4 = rows(TABLE4);
export const PAPER_TABLE5 = rows(TABLE5);
