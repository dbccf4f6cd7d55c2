/**
 * index.html in a real browser: headless Debian Chromium through playwright-core opens the
 * report's file:// URL offline and must draw every chart without an error; the filters must
 * change what is drawn. Skips outside CI when /usr/bin/chromium is missing (CI installs it).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../src/report.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: CI installs it (apt-get install chromium, .ci/run)`);
if (!haveChromium) console.warn(`html.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const repo = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-html-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** Screenshots stay for a reader (gitignored). */
const artifacts = path.join(import.meta.dirname, 'artifacts');

describe.skipIf(!haveChromium)('index.html in headless Chromium', () => {
  it('draws every chart offline with no console or page error, and the filters redraw with less data', { timeout: 60_000 }, async () => {
    // Two real hosts' folders: several hosts, sizes and variants to filter.
    await writeReport([path.join(repo, 'results/2026-11-26-vm-2core'), path.join(repo, 'results/2026-12-02-vm-2core-10k')], tmp);
    const html = readFileSync(path.join(tmp, 'index.html'), 'utf8');
    const charts = (html.match(/class="chart"/g) ?? []).length;
    expect(charts).toBeGreaterThanOrEqual(6);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing fetched at view time

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(path.join(tmp, 'index.html')).href);
      await page.waitForSelector('body[data-drawn="yes"]', { timeout: 30_000 });
      expect(errors).toEqual([]);
      // one drawn SVG per chart
      expect(await page.locator('.chart svg.marks').count()).toBe(charts);
      const all = Number(await page.getAttribute('body', 'data-rows'));
      expect(all).toBeGreaterThan(0);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, 'index.png'), fullPage: true });

      // Unchecking one variant must leave less data in the charts.
      await page.locator('input[data-facet="variant"][value="nftnl/flat"]').uncheck();
      await page.waitForSelector('body[data-drawn="yes"]', { timeout: 30_000 });
      expect(Number(await page.getAttribute('body', 'data-rows'))).toBeLessThan(all);
      expect(await page.locator('.chart svg.marks').count()).toBe(charts);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
