/**
 * Vega-Lite specs rendered to static SVG in Node (no browser, no CDN): the SVG is embedded in
 * the notebook's output, so a rendered report opens offline.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

export type VegaLiteSpec = vl.TopLevelSpec;

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
