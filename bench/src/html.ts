/**
 * index.html: the report's charts drawn in a browser by vega-embed from the same vega-lite specs
 * as the SVGs, with filters by host, kernel and variant. One file, nothing fetched at view time:
 * the data and vega, vega-lite and vega-embed themselves are inlined (read from node_modules now).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

export interface HtmlChart {
  /** The SVG's file name beside report.md. */
  readonly name: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

export interface HtmlReport {
  readonly title: string;
  /** Markdown-ish text naming the results files (backticks are dropped). */
  readonly sources: string;
  readonly charts: readonly HtmlChart[];
  readonly growth: { readonly header: readonly string[]; readonly rows: readonly (readonly string[])[] };
}

/** The fields a chart datum is filtered by (Facets in charts.ts). */
const FACETS = ['host', 'kernel', 'variant'] as const;

const require = createRequire(import.meta.url);

/** A package's browser build: its folder is found from its resolved entry point (vega-embed's exports hide the build files). */
function browserBuild(entry: string, pkg: string, file: string): string {
  const marker = `${path.sep}node_modules${path.sep}${pkg}${path.sep}`;
  const root = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
  return readFileSync(path.join(root, file), 'utf8');
}

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Script text may hold anything but `</script`; JSON may hold anything once `<` is escaped. */
const inlineScript = (js: string): string => `<script>${js.replace(/<\/script/gi, '<\\/script')}</script>`;
const inlineJson = (id: string, data: unknown): string => `<script type="application/json" id="${id}">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`;

/** Every value a facet takes in the charts' data (layers included). */
function facetValues(charts: readonly HtmlChart[]): Record<(typeof FACETS)[number], string[]> {
  const seen = { host: new Set<string>(), kernel: new Set<string>(), variant: new Set<string>() };
  const walk = (spec: unknown): void => {
    const s = spec as { data?: { values?: Record<string, unknown>[] }; layer?: unknown[] };
    for (const v of s.data?.values ?? []) for (const f of FACETS) if (typeof v[f] === 'string') seen[f].add(v[f]);
    for (const l of s.layer ?? []) walk(l);
  };
  for (const c of charts) walk(c.spec);
  return { host: [...seen.host].sort(), kernel: [...seen.kernel].sort(), variant: [...seen.variant].sort() };
}

function filterBoxes(values: Record<(typeof FACETS)[number], string[]>): string {
  return FACETS.map(
    (f) =>
      `<fieldset><legend>${f}</legend>${values[f]
        .map((v) => `<label><input type="checkbox" data-facet="${f}" value="${escapeHtml(v)}" checked> ${escapeHtml(v)}</label>`)
        .join(' ')}</fieldset>`,
  ).join('\n');
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const tr = (cells: readonly string[], tag: string) => `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return `<table><thead>${tr(header, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody></table>`;
}

/**
 * Runs in the page: re-embeds every chart with the data the checked boxes let through. A datum
 * without a facet field passes. data-rows on <body> counts the data drawn (the browser test reads it).
 */
const PAGE_SCRIPT = `
const charts = JSON.parse(document.getElementById('kpb-charts').textContent);
const facets = ${JSON.stringify(FACETS)};
function checked(f) { return new Set([...document.querySelectorAll('input[data-facet="' + f + '"]:checked')].map((e) => e.value)); }
function filtered(spec, keep, count) {
  const out = { ...spec };
  if (spec.data && spec.data.values) {
    out.data = { values: spec.data.values.filter(keep) };
    count.n += out.data.values.length;
  }
  if (spec.layer) out.layer = spec.layer.map((l) => filtered(l, keep, count));
  return out;
}
async function draw() {
  const sel = Object.fromEntries(facets.map((f) => [f, checked(f)]));
  const keep = (v) => facets.every((f) => v[f] === undefined || sel[f].has(v[f]));
  const count = { n: 0 };
  for (const [i, c] of charts.entries()) {
    await vegaEmbed('#chart-' + i, filtered(c.spec, keep, count), { renderer: 'svg', actions: false });
  }
  document.body.dataset.rows = String(count.n);
  document.body.dataset.drawn = 'yes';
}
document.querySelectorAll('input[data-facet]').forEach((e) => e.addEventListener('change', () => { document.body.dataset.drawn = 'no'; draw(); }));
draw().catch((e) => { console.error(e); });
`;

export function indexHtml(r: HtmlReport): string {
  const scripts = [
    browserBuild(require.resolve('vega'), 'vega', 'build/vega.min.js'),
    browserBuild(require.resolve('vega-lite'), 'vega-lite', 'build/vega-lite.min.js'),
    browserBuild(require.resolve('vega-embed'), 'vega-embed', 'build/vega-embed.min.js'),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(r.title)}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
fieldset { display: inline-block; margin: 0 1em 1em 0; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
.chart { margin: 1.5em 0; }
</style>
${scripts.map(inlineScript).join('\n')}
</head>
<body data-drawn="no">
<h1>${escapeHtml(r.title)}</h1>
<p>Drawn from ${escapeHtml(r.sources.replace(/`/g, ''))}; the tables are in report.md beside this file.</p>
<h2>Filters</h2>
${filterBoxes(facetValues(r.charts))}
<h2>Charts</h2>
${r.charts.map((c, i) => `<div class="chart" id="chart-${i}" data-name="${escapeHtml(c.name)}"></div>`).join('\n')}
${r.growth.rows.length ? `<h2>Growth: grows like n^k</h2>\n${htmlTable(r.growth.header, r.growth.rows)}` : ''}
${inlineJson('kpb-charts', r.charts)}
${inlineScript(PAGE_SCRIPT)}
</body>
</html>
`;
}
