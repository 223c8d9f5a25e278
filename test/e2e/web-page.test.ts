// The page of `neutrino web` in a real browser: Debian's chromium, headless, driven over the DevTools
// protocol, loads it from a server showing a recording, and its DOM (after the script ran) holds the picture as SVG with every node,
// namespace and device named as text. While the page is open the recording changes (a tap goes
// down): without a reload the page receives the new view by server-sent events and marks the tap
// with the tracer's reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.js';
import { startWebServer } from '../../src/web/server.js';
import { ViewSource } from '../../src/web/state.js';
import { eventually } from '../helpers/lab.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');

function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
    } catch {
      /* not this one */
    }
  }
  return null;
}
const chromium = findChromium();

/** A headless chromium driven over the DevTools protocol (Node's own WebSocket): navigate, evaluate. */
async function openBrowser(t: { after: (f: () => void) => void }) {
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  const child = spawn(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=0', 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => child.kill('SIGTERM'));
  const port = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`chromium exited ${code}: ${err}`)));
  });
  const pages = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ type: string; webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(pages.find((p) => p.type === 'page')!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  t.after(() => ws.close());
  let id = 0;
  type Reply = { result?: { result?: { value?: unknown } } };
  const waiting = new Map<number, (r: Reply) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e.data)) as Reply & { id?: number };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg);
  };
  const call = (method: string, params: object) =>
    new Promise<Reply>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    navigate: (url: string) => call('Page.navigate', { url }),
    evaluate: async <T>(expression: string): Promise<T> =>
      (await call('Runtime.evaluate', { expression, returnByValue: true })).result?.result?.value as T,
  };
}

test(
  'chromium renders the topology as SVG and follows a change without a reload',
  { skip: chromium ? false : 'needs chromium', timeout: 120_000 },
  async (t) => {
    let current = join(fixtures, 'healthy');
    const source = new ViewSource({ read: () => loadSnapshot(current), label: 'snapshot in the browser', intervalMs: 200 });
    await source.start();
    const server = await startWebServer(source, { host: '127.0.0.1', port: 0 });
    t.after(async () => {
      source.stop();
      await server.close();
    });
    const browser = await openBrowser(t);
    await browser.navigate(server.url);
    const html = () => browser.evaluate<string>('document.documentElement.outerHTML');
    await eventually('the picture', async () => (await html()).includes('>vxlan-41 (vxlan)</text>'), 30_000);
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

    // The floating IP's trace drawn on the picture: its devices green, hop by hop.
    await browser.evaluate(
      "document.getElementById('fip').value = '10.123.123.104'; document.getElementById('trace').requestSubmit(); true",
    );
    await eventually('the trace on the picture', async () => /class="dev [^"]*hop-ok"/.test(await html()), 10_000);
    const traced = await html();
    for (const dev of [
      'compute1//tapc50088b7-68',
      'controller//vxlan-41',
      'controller/qrouter-9ad128a1-30db-4e91-b4de-46e00d580f50/qg-7eb8e0cf-3b',
    ])
      assert.match(traced, new RegExp(`<g class="dev ok [^"]*hop-ok"[^>]*data-id="${dev}"`), dev);
    assert.doesNotMatch(traced, /class="dev [^"]*hop-bad"/);

    // The tap goes down while the page is open: no reload, the event stream brings it.
    current = join(fixtures, 'tap-down');
    await eventually('the tap down on the page', async () => (await html()).includes('>DEVICE_DOWN</text>'), 10_000);
    const after = await html();
    assert.ok(after.includes(`data-version="${version + 1}" data-views="2"`));
    assert.match(after, /<g class="dev down [^"]*"[^>]*aria-label="tapc50088b7-68 down"/);
    // …and the trace, walked again on the new view, turns the tap's hop red.
    assert.match(after, /<g class="dev down [^"]*hop-bad"[^>]*data-id="compute1\/\/tapc50088b7-68"/);
  },
);
