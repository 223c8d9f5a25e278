// The page of `neutrino web` in a real browser (Playwright driving Debian's chromium, headless), on
// recordings: its DOM holds the picture, laid out by ELK, as SVG with every node, namespace and
// device named as text; a floating IP's trace is drawn hop by hop. While the page is open the
// recording changes (a tap goes down, then the floating IP's DNAT rule goes): without a reload the
// page receives the new view by server-sent events and marks the fault with the tracer's reason —
// a device hop red, or a rule hop on its namespace. The picture exports as SVG and PNG; a bridge with
// many taps shows them as one group that opens on click. A recorded snapshot uploaded in the page (a
// directory picked, or its files) is drawn and traced offline while the live view goes on; its
// standing iptables fault (the DNAT gone) is on the router's namespace before any trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { startWebServer } from '../../src/web/server.ts';
import { ViewSource } from '../../src/web/state.ts';
import { ARTIFACTS, findChromium, launchBrowser } from '../helpers/browser.ts';
import { withMorePorts } from '../helpers/web-scale.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const skip = findChromium() ? false : 'needs chromium';
const ROUTER_NS = 'controller/qrouter-9ad128a1-30db-4e91-b4de-46e00d580f50';

async function serve(t: { after: (f: () => Promise<void>) => void }, source: ViewSource) {
  await source.start();
  const server = await startWebServer(source, { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    source.stop();
    await server.close();
  });
  return server;
}

test('chromium renders the topology as SVG and follows a change without a reload', { skip, timeout: 120_000 }, async (t) => {
  let current = join(fixtures, 'healthy');
  const source = new ViewSource({ read: () => loadSnapshot(current), label: 'snapshot in the browser', intervalMs: 200 });
  const server = await serve(t, source);
  const page = await (await launchBrowser(t)).newPage();
  await page.goto(server.url);
  const html = () => page.content();
  await page.waitForSelector('text=vxlan-41 (vxlan)', { timeout: 30_000 });
  assert.equal(server.watchers(), 1);
  const version = source.view()!.version;
  const first = await html();
  assert.match(first, /<svg id="picture"/);
  for (const name of [
    'compute1  VTEP 192.168.0.105',
    'controller  VTEP 192.168.0.104',
    'qrouter-9ad128a1-30db-4e91-b4de-46e00d580f50',
    'vxlan-41 (vxlan)',
    'brqa516e955-9a (bridge)',
    'qg-7eb8e0cf-3b (veth)',
    'qr-3218af14-e1 (veth)',
    'tapc50088b7-68 (veth)',
  ])
    assert.ok(first.includes(`>${name}</text>`), name);
  assert.match(first, /<line [^>]*class="tunnel"/);
  assert.match(first, /<line [^>]*class="veth/);
  assert.ok(!first.includes('DEVICE_DOWN'));
  assert.ok(first.includes(`data-version="${version}" data-views="1"`));
  // ELK's layout: the two nodes side by side, the bridge above its ports inside its namespace.
  const box = async (id: string) => (await page.locator(`[data-id="${id}"] > rect`).first().boundingBox())!;
  const [ctl, c1] = [await box('controller'), await box('compute1')];
  assert.ok(ctl.x + ctl.width <= c1.x || c1.x + c1.width <= ctl.x, 'the nodes do not overlap');
  assert.ok((await box('compute1//brqa516e955-9a')).y < (await box('compute1//tapc50088b7-68')).y, 'the bridge is above its tap');
  await page.screenshot({ path: join(ARTIFACTS, 'healthy.png'), fullPage: true });

  // The floating IP's trace drawn on the picture: its devices green, hop by hop, its rules on their namespace.
  await page.fill('#fip', '10.123.123.104');
  await page.click('#trace button:text("trace")');
  await page.waitForSelector('g.dev.hop-ok', { timeout: 10_000 });
  const traced = await html();
  for (const dev of ['compute1//tapc50088b7-68', 'controller//vxlan-41', `${ROUTER_NS}/qg-7eb8e0cf-3b`])
    assert.match(traced, new RegExp(`<g class="dev ok [^"]*hop-ok"[^>]*data-id="${dev}"`), dev);
  assert.doesNotMatch(traced, /class="dev [^"]*hop-bad"/);
  assert.match(traced, new RegExp(`<g class="ns [^"]*hop-ok"[^>]*data-id="${ROUTER_NS}"`), 'the router namespace: its NAT rules ok');
  assert.match(traced, /<tspan class="rule hop-ok"[^>]*>✓ DNAT/);

  // The tap goes down while the page is open: no reload, the event stream brings it.
  current = join(fixtures, 'tap-down');
  await page.waitForSelector('text=DEVICE_DOWN', { timeout: 10_000 });
  const after = await html();
  assert.ok(after.includes(`data-version="${version + 1}" data-views="2"`));
  assert.match(after, /<g class="dev down [^"]*"[^>]*aria-label="tapc50088b7-68 down"/);
  // …and the trace, walked again on the new view, turns the tap's hop red.
  assert.match(after, /<g class="dev down [^"]*hop-bad"[^>]*data-id="compute1\/\/tapc50088b7-68"/);

  // The DNAT rule goes: a hop without a device, drawn red on the router's namespace with its reason.
  current = join(fixtures, 'dnat-missing');
  await page.waitForSelector('tspan.rule.hop-bad', { timeout: 10_000 });
  const noDnat = await html();
  assert.match(noDnat, new RegExp(`<g class="ns [^"]*hop-bad"[^>]*data-id="${ROUTER_NS}"`));
  assert.match(noDnat, /<tspan class="rule hop-bad"[^>]*>✗ DNAT NAT_RULE_MISSING/);
  await page.screenshot({ path: join(ARTIFACTS, 'dnat-missing.png'), fullPage: true });

  // Export: a standalone SVG (its style inside) and a PNG, as files the browser downloads.
  const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
  assert.equal(svgDownload.suggestedFilename(), 'neutrino-topology.svg');
  const svgFile = join(ARTIFACTS, 'dnat-missing.svg');
  await svgDownload.saveAs(svgFile);
  const svg = await readFile(svgFile, 'utf8');
  assert.match(svg, /^<\?xml[^>]*>\n<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<style>[^<]*\.dev rect/);
  assert.ok(svg.includes('>vxlan-41 (vxlan)</text>') && svg.includes('NAT_RULE_MISSING'));
  const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
  assert.equal(pngDownload.suggestedFilename(), 'neutrino-topology.png');
  const pngFile = join(ARTIFACTS, 'export.png');
  await pngDownload.saveAs(pngFile);
  const png = await readFile(pngFile);
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.ok(png.readUInt32BE(16) > 300 && png.readUInt32BE(20) > 100, 'the PNG has the picture’s size');
});

test('a bridge with many taps shows them as one group that opens on click and closes again', { skip, timeout: 120_000 }, async (t) => {
  const big = withMorePorts(await loadSnapshot(join(fixtures, 'healthy')), 20);
  const source = new ViewSource({ read: () => Promise.resolve(big), label: 'a node with 21 instance ports', intervalMs: 0 });
  const server = await serve(t, source);
  const page = await (await launchBrowser(t)).newPage();
  await page.goto(server.url);
  const group = page.locator('[data-id="group:compute1//brqa516e955-9a"]');
  await group.waitFor({ timeout: 30_000 });
  assert.match((await group.textContent())!, /^21 taps on brqa516e955-9a/);
  assert.equal(await group.getAttribute('aria-label'), '21 taps on brqa516e955-9a: open');
  assert.equal(await page.locator('g.dev[data-id^="compute1//tap"]').count(), 0);
  // Opened from the keyboard: every tap its own box, named.
  await group.focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('text=tap00000013-00 (veth)', { timeout: 10_000 });
  assert.equal(await page.locator('g.dev[data-id^="compute1//tap"]').count(), 21);
  await page.screenshot({ path: join(ARTIFACTS, 'taps-open.png'), fullPage: true });
  await page.click('#collapse');
  await group.waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('g.dev[data-id^="compute1//tap"]').count(), 0);
});

test(
  'a recorded snapshot uploaded in the page is drawn and traced offline; back to live afterwards',
  { skip, timeout: 120_000 },
  async (t) => {
    const source = new ViewSource({ read: () => loadSnapshot(join(fixtures, 'healthy')), label: 'live healthy', intervalMs: 200 });
    const server = await serve(t, source);
    const page = await (await launchBrowser(t)).newPage();
    await page.goto(server.url);
    await page.waitForSelector('text=vxlan-41 (vxlan)', { timeout: 30_000 });
    // The recording's directory, as the picker gives it (each file's path under the directory's name).
    await page.setInputFiles('#upload-dir', join(fixtures, 'dnat-missing'));
    await page.waitForSelector('body[data-offline="dnat-missing"]', { timeout: 30_000 });
    assert.match((await page.textContent('#status'))!, /^snapshot dnat-missing \(uploaded\) · read /);
    // Before any trace: the standing fault on the router's namespace, by the tracer's reason, its cause in the details.
    const title = page.locator(`[data-id="${ROUTER_NS}"] > text.ns-faults`);
    assert.match((await title.textContent())!, /✗ .*NAT_RULE_MISSING/);
    assert.match((await page.getAttribute(`[data-id="${ROUTER_NS}"]`, 'class'))!, /^ns missing/);
    await title.focus();
    await page.keyboard.press('Enter');
    assert.match((await page.textContent('#panel'))!, /-j DNAT --to-destination 172\.16\.1\.3/);
    await page.fill('#fip', '10.123.123.104');
    await page.click('#trace button:text("trace")');
    await page.waitForSelector('tspan.rule.hop-bad', { timeout: 10_000 });
    assert.match(await page.content(), /<tspan class="rule hop-bad"[^>]*>✗ DNAT NAT_RULE_MISSING/);
    assert.ok(await page.isHidden('#probe'), 'a recording has nothing to probe');
    await page.screenshot({ path: join(ARTIFACTS, 'uploaded-dnat-missing.png'), fullPage: true });
    // The live view keeps coming meanwhile, and is shown again on request, its trace healthy.
    await page.click('#live');
    await page.waitForFunction(() => !document.body.dataset['offline'], undefined, { timeout: 10_000 });
    assert.match((await page.textContent('#status'))!, /^live healthy · read /);
    await page.click('#trace button:text("trace")');
    await page.waitForSelector('g.dev.hop-ok', { timeout: 10_000 });
    assert.doesNotMatch(await page.content(), /class="[^"]*hop-bad/);
    // The files themselves (no directory): found by their names.
    const dir = join(fixtures, 'tap-down');
    await page.setInputFiles('#upload-files', [
      join(dir, 'snapshot.json'),
      join(dir, 'nodes', 'compute1.json'),
      join(dir, 'nodes', 'controller.json'),
    ]);
    await page.waitForSelector('text=DEVICE_DOWN', { timeout: 30_000 });
    // What is not a recording is refused with the reason, over HTTP as in the page.
    const post = (body: unknown) =>
      fetch(new URL('/api/snapshots?name=x', server.url), {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    const noNodes = await post({ files: { 'x/snapshot.json': await readFile(join(dir, 'snapshot.json'), 'utf8') } });
    assert.equal(noNodes.status, 400);
    assert.match(((await noNodes.json()) as { NeutronError: { message: string } }).NeutronError.message, /nodes\/\S+\.json: missing/);
    assert.equal((await post({ files: { 'a.txt': 'hello' } })).status, 400);
    assert.equal((await post([1])).status, 400);
    const trace = await fetch(new URL('/api/trace?snapshot=nope&fip=10.123.123.104', server.url));
    assert.equal(trace.status, 404);
  },
);
