/** Vega-Lite spec builders for the charts the notebooks draw. Data goes in as plain row objects. */
import { VegaLiteSpec } from './render';

type Row = Record<string, unknown>;

export interface LineChartOptions {
  title: string;
  x: string;
  y: string;
  /** series field (one line per value) */
  color?: string;
  /** one panel per value */
  facet?: string;
  xTitle?: string;
  yTitle?: string;
  /** y values are fractions: show as percent */
  percent?: boolean;
  width?: number;
  height?: number;
}

export function lineChart(rows: Row[], o: LineChartOptions): VegaLiteSpec {
  const encoding = {
    x: { field: o.x, type: 'quantitative' as const, title: o.xTitle ?? o.x },
    y: {
      field: o.y,
      type: 'quantitative' as const,
      title: o.yTitle ?? o.y,
      ...(o.percent ? { axis: { format: '.0%' } } : {}),
      scale: { zero: false },
    },
    ...(o.color ? { color: { field: o.color, type: 'nominal' as const } } : {}),
  };
  const unit = {
    width: o.width ?? 420,
    height: o.height ?? 220,
    mark: { type: 'line' as const, point: { size: 12 } },
    encoding,
  };
  if (o.facet) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: o.title,
      data: { values: rows },
      facet: { field: o.facet, type: 'nominal', title: null },
      columns: 2,
      spec: unit,
    } as VegaLiteSpec;
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title: o.title, data: { values: rows }, ...unit } as VegaLiteSpec;
}

export interface ScatterOptions {
  title: string;
  x: string;
  y: string;
  color: string;
  /** explicit colours for the colour field's values, in domain order */
  palette?: { domain: string[]; range: string[] };
  width?: number;
  height?: number;
  /** hide axes (for projected 3-D views, whose axes are drawn as data) */
  noAxes?: boolean;
}

export function scatterChart(rows: Row[], o: ScatterOptions, extraLayers: object[] = []): VegaLiteSpec {
  const axis = o.noAxes ? null : undefined;
  const points = {
    mark: { type: 'circle', size: 14, opacity: 0.75 },
    encoding: {
      x: { field: o.x, type: 'quantitative', scale: { zero: false }, ...(axis === null ? { axis: null } : {}) },
      y: { field: o.y, type: 'quantitative', scale: { zero: false }, ...(axis === null ? { axis: null } : {}) },
      color: { field: o.color, type: 'nominal', ...(o.palette ? { scale: o.palette } : {}) },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: o.width ?? 320,
    height: o.height ?? 320,
    data: { values: rows },
    layer: [points, ...extraLayers],
  } as VegaLiteSpec;
}

/** Places several specs side by side. */
export function hconcat(title: string, specs: VegaLiteSpec[]): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    hconcat: specs.map(({ $schema: _s, ...rest }) => rest),
  } as unknown as VegaLiteSpec;
}
