/**
 * Charts as SVG, drawn headless with vega-lite → vega (no browser, no canvas: the SVG renderer
 * estimates text widths).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * What index.html filters a chart's data by: every datum carries them, the SVGs ignore them.
 * Optional so that a chart made elsewhere draws unfiltered.
 */
export interface Facets {
  readonly host?: string;
  readonly kernel?: string;
  readonly variant?: string;
}

export interface Point extends Facets {
  readonly series: string;
  readonly services: number;
  readonly value: number;
  readonly p90?: number;
}

/** Median time against number of services, one line per backend/layout, log–log. */
export function lineChartSpec(title: string, yTitle: string, points: readonly Point[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 320,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'services', type: 'quantitative', title: 'services', scale: { type: 'log' }, axis: { format: '~s' } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: 'backend/layout' },
    },
    config: { font: 'sans-serif' },
  };
}

export interface Bar extends Facets {
  readonly series: string;
  readonly group: string;
  readonly facet: string;
  readonly value: number;
}

/** Grouped bars: one bar per `group` within each series, a column per facet (e.g. scale). */
export function groupedBarSpec(title: string, yTitle: string, groupTitle: string, bars: readonly Bar[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: bars.map((b) => ({ ...b })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      column: { field: 'facet', type: 'nominal', title: null, sort: null },
      x: { field: 'series', type: 'nominal', title: null, axis: { labelAngle: -40 } },
      xOffset: { field: 'group', type: 'nominal' },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: { field: 'group', type: 'nominal', title: groupTitle },
    },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** Stacked bars: parts of one whole (userspace vs kernel) per series, a column per facet. */
export function stackedBarSpec(title: string, yTitle: string, bars: readonly Bar[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: bars.map((b) => ({ ...b })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      column: { field: 'facet', type: 'nominal', title: null, sort: null },
      x: { field: 'series', type: 'nominal', title: null, axis: { labelAngle: -40 } },
      y: { field: 'value', type: 'quantitative', title: yTitle, stack: 'zero' },
      color: { field: 'group', type: 'nominal', title: 'part' },
    },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

export interface FitLine extends Facets {
  readonly series: string;
  readonly services: number;
  /** exp(intercept) · services^k: the fitted time at `services`. */
  readonly fitted: number;
}

/**
 * Growth on log–log axes: the measured medians as points and each series' least-squares fit as
 * a line (on log–log axes a power law n^k is a straight line of slope k).
 */
export function growthChartSpec(title: string, yTitle: string, points: readonly Point[], fits: readonly FitLine[]): TopLevelSpec {
  const x = { field: 'services', type: 'quantitative', title: 'services', scale: { type: 'log' }, axis: { format: '~s' } } as const;
  const color = { field: 'series', type: 'nominal', title: 'backend/layout' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 320,
    layer: [
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: 'point', filled: true, tooltip: true },
        encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, scale: { type: 'log' } }, color },
      },
      {
        data: { values: fits.map((f) => ({ ...f })) },
        mark: { type: 'line', tooltip: true },
        encoding: { x, y: { field: 'fitted', type: 'quantitative', title: yTitle, scale: { type: 'log' } }, color },
      },
    ],
    config: { font: 'sans-serif' },
  };
}
