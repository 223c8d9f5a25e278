// Render benchmark of `neutrino web` (no root, no lab): the recorded demo snapshot, then the same with
// PORTS (1,000) more instance ports and their taps on the instance's node. For each: the server's
// view (tracer's plan and checks → topology and resources), and in Debian's chromium (Playwright,
// headless) the time from loading the page to the drawn picture (ELK layout and SVG), and the time
// to open the bridge's group of taps (every tap laid out and drawn). Prints one JSON object.
// Usage: npm run bench:web (ITER, PORTS; SCREENSHOT=FILE saves the demo's picture with its floating
// IP's trace drawn, as in the README)
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadSnapshot } from '../src/trace/read/snapshot-io.ts';
import type { Snapshot } from '../src/trace/snapshot.ts';
import { startWebServer } from '../src/web/server.ts';
import { ViewSource, viewOf } from '../src/web/state.ts';
import { findChromium } from '../test/helpers/browser.ts';
import { withMorePorts } from '../test/helpers/web-scale.ts';

const ITER = Number(process.env.ITER ?? 5);
const PORTS = Number(process.env.PORTS ?? 1000);
const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'trace', 'healthy');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2).toFixed(1);
};

async function measure(snapshot: Snapshot, label: string, screenshot?: string) {
  const view: number[] = [];
  for (let i = 0; i < ITER; i++) {
    const t0 = performance.now();
    viewOf(snapshot, label);
    view.push(performance.now() - t0);
  }
  const source = new ViewSource({ read: () => Promise.resolve(snapshot), label, intervalMs: 0 });
  await source.start();
  const server = await startWebServer(source, { host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({ executablePath: findChromium()!, args: ['--no-sandbox'] });
  const load: number[] = [];
  const open: number[] = [];
  let devices = 0;
  try {
    for (let i = 0; i < ITER; i++) {
      const page = await browser.newPage({ viewport: { width: 1900, height: 1000 } });
      const t0 = performance.now();
      await page.goto(server.url);
      await page.waitForSelector('body[data-drawn="1"]', { timeout: 120_000 });
      load.push(performance.now() - t0);
      const group = page.locator('g.group').first();
      if (await group.count()) {
        const t1 = performance.now();
        await group.click();
        await page.waitForSelector('body[data-drawn="2"]', { timeout: 120_000 });
        open.push(performance.now() - t1);
      }
      devices = await page.locator('g.dev').count();
      if (screenshot && i === 0) {
        await page.fill('#fip', '10.123.123.104');
        await page.click('#trace button:text("trace")');
        await page.waitForSelector('g.dev.hop-ok');
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      await page.close();
    }
  } finally {
    await browser.close();
    source.stop();
    await server.close();
  }
  return {
    ports: snapshot.api.ports.length,
    view_ms: median(view),
    page_load_to_picture_ms: median(load),
    ...(open.length ? { open_group_ms: median(open) } : {}),
    devices_drawn_at_end: devices,
  };
}

const healthy = await loadSnapshot(FIXTURE);
const result = {
  when: new Date().toISOString(),
  cpus: cpus().length,
  load: loadavg().map((l) => +l.toFixed(1)),
  iterations: ITER,
  demo: await measure(healthy, 'the demo', process.env.SCREENSHOT),
  big: await measure(withMorePorts(healthy, PORTS), `the demo with ${PORTS} more ports`),
};
console.log(JSON.stringify(result, null, 2));
