/**
 * Shows results in a tslab notebook (rich output) or, outside Jupyter, prints a plain-text stand-in.
 */
import { renderSvg, VegaLiteSpec } from './render';

type TslabDisplay = { svg(s: string): void; html(s: string): void; markdown(s: string): void };

function tslabDisplay(): TslabDisplay | null {
  try {
    // Same module instance as the running kernel's (both resolve to this project's node_modules).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { display } = require('tslab') as { display: TslabDisplay };
    return display;
  } catch {
    return null;
  }
}

function tryShow(kind: 'svg' | 'html' | 'markdown', content: string, fallback: string): void {
  const d = tslabDisplay();
  try {
    if (d) {
      d[kind](content);
      return;
    }
  } catch {
    // "Not ready": not inside a kernel
  }
  console.log(fallback);
}

/**
 * Renders a Vega-Lite spec and shows it as inline SVG. Returns nothing on purpose: a notebook
 * prints a cell's last value, which would repeat the SVG as text (use renderSvg for the string).
 */
export async function showChart(spec: VegaLiteSpec): Promise<void> {
  const svg = await renderSvg(spec);
  const title = typeof spec.title === 'string' ? spec.title : 'chart';
  tryShow('svg', svg, `[${title}: ${svg.length} bytes of SVG]`);
}

export function showMarkdown(md: string): void {
  tryShow('markdown', md, md);
}

export function showHtml(html: string, textFallback: string): void {
  tryShow('html', html, textFallback);
}

/** Shows rows as an HTML table (arquero), or prints them as text outside Jupyter. */
export function showTable(rows: Record<string, unknown>[], opts: { limit?: number; digits?: number } = {}): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const aq = require('arquero') as typeof import('arquero');
  const digits = opts.digits ?? 4;
  const rounded = rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(digits)) : v]),
    ),
  );
  const t = aq.from(rounded);
  showHtml(t.toHTML({ limit: opts.limit ?? 50 }), t.toMarkdown({ limit: opts.limit ?? 50 }));
}
