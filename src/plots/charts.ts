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
    // Vega-Lite cuts legend labels at 160 px: run names like 'robust, training images · seed 3' need more
    ...(o.color ? { color: { field: o.color, type: 'nominal' as const, legend: { labelLimit: 400 } } } : {}),
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

export interface BarChartOptions {
  title: string;
  /** category on the x axis */
  x: string;
  y: string;
  /** bars side by side within each x category */
  color?: string;
  /** one panel per value */
  column?: string;
  percent?: boolean;
  yTitle?: string;
  width?: number;
  height?: number;
}

/** Grouped bars (e.g. AA accuracy per method, with and without PIAT). */
export function barChart(rows: Row[], o: BarChartOptions): VegaLiteSpec {
  const encoding = {
    x: { field: o.x, type: 'nominal', title: null, sort: null },
    y: { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, ...(o.percent ? { axis: { format: '.0%' } } : {}) },
    ...(o.color ? { color: { field: o.color, type: 'nominal', sort: null }, xOffset: { field: o.color, sort: null } } : {}),
    tooltip: [{ field: o.x }, ...(o.color ? [{ field: o.color }] : []), { field: o.y, format: '.2%' }],
  };
  const unit = { width: o.width ?? 360, height: o.height ?? 220, mark: { type: 'bar' }, encoding };
  if (o.column) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: o.title,
      data: { values: rows },
      facet: { column: { field: o.column, type: 'nominal', title: null } },
      spec: unit,
    } as unknown as VegaLiteSpec;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    data: { values: rows },
    ...unit,
  } as unknown as VegaLiteSpec;
}

export interface HeatmapOptions {
  title: string;
  x: string;
  y: string;
  value: string;
  valueTitle?: string;
  /** grid spacing along x and y (cells are drawn centred on each point) */
  step: [number, number];
  /** one panel per value of this field */
  column?: string;
  /** iso-lines drawn over the heat map: segments {x, y, x2, y2, level, [column]} */
  contours?: Row[];
  width?: number;
  height?: number;
}

/** A heat map over a regular (x, y) grid with optional contour segments (the loss landscape). */
export function heatmap(rows: Row[], o: HeatmapOptions): VegaLiteSpec {
  const [dx, dy] = o.step;
  const q = (field: string, title?: string) => ({
    field,
    type: 'quantitative',
    ...(title ? { title } : {}),
    scale: { nice: false, zero: false },
  });
  const cells = {
    transform: [
      { calculate: `datum['${o.x}'] - ${dx / 2}`, as: '_x0' },
      { calculate: `datum['${o.x}'] + ${dx / 2}`, as: '_x1' },
      { calculate: `datum['${o.y}'] - ${dy / 2}`, as: '_y0' },
      { calculate: `datum['${o.y}'] + ${dy / 2}`, as: '_y1' },
    ],
    mark: { type: 'rect' },
    encoding: {
      x: q('_x0', o.x),
      x2: { field: '_x1' },
      y: q('_y0', o.y),
      y2: { field: '_y1' },
      color: { field: o.value, type: 'quantitative', title: o.valueTitle ?? o.value, scale: { scheme: 'viridis' } },
      tooltip: [
        { field: o.x, format: '.2f' },
        { field: o.y, format: '.2f' },
        { field: o.value, format: '.3f' },
      ],
    },
  };
  const lines = o.contours?.length
    ? [
        {
          data: { values: o.contours },
          mark: { type: 'rule', color: 'white', strokeWidth: 1 },
          encoding: { x: q('x'), y: q('y'), x2: { field: 'x2' }, y2: { field: 'y2' } },
        },
      ]
    : [];
  const schema = 'https://vega.github.io/schema/vega-lite/v5.json';
  if (o.column) {
    // one panel per column value: each panel filters the grid and its contours
    const values = [...new Set(rows.map((r) => String(r[o.column as string])))];
    const panel = (v: string) => ({
      title: v,
      width: o.width ?? 240,
      height: o.height ?? 240,
      layer: [
        { ...cells, data: { values: rows.filter((r) => String(r[o.column as string]) === v) } },
        ...lines.map((l) => ({ ...l, data: { values: (o.contours as Row[]).filter((r) => String(r[o.column as string]) === v) } })),
      ],
    });
    return {
      $schema: schema,
      title: o.title,
      hconcat: values.map(panel),
      resolve: { scale: { color: 'shared' } },
    } as unknown as VegaLiteSpec;
  }
  return {
    $schema: schema,
    title: o.title,
    width: o.width ?? 240,
    height: o.height ?? 240,
    layer: [{ ...cells, data: { values: rows } }, ...lines],
  } as unknown as VegaLiteSpec;
}
