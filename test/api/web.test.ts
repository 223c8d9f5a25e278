// `neutrino web` over HTTP in snapshot mode (no root, no live system): the built command serves the
// page, the topology, the resources and a trace of the recording, and refuses writes; the
// server-sent events follow a snapshot that changes under a re-reading source within a second, and
// say nothing while it does not change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { neutrinoSpawn } from '../helpers/neutrino-cli.ts';
import { webUrl } from '../helpers/web.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { startWebServer } from '../../src/web/server.ts';
import { ViewSource, type View } from '../../src/web/state.ts';
import type { Topology } from '../../src/web/topology.ts';
import type { TraceReport } from '../../src/trace/report.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const FIP = '10.123.123.104';

/** Reads server-sent `view` events from a stream, one at a time. */
async function* viewEvents(url: string, signal: AbortSignal): AsyncGenerator<View> {
  const res = await fetch(url, { signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (/^event: view$/m.test(block)) yield JSON.parse(data) as View;
    }
  }
}

test('the built command serves a snapshot: page, topology, resources, trace, events; read-only', async (t) => {
  const child = neutrinoSpawn(['web', '--snapshot', join(fixtures, 'healthy'), '--listen', '127.0.0.1:0']);
  t.after(() => child.kill('SIGTERM'));
  const url = await webUrl(child);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<svg id="picture"[^>]*role="img"/);
  const script = await fetch(new URL('app.js', url));
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.match(await script.text(), /new EventSource\('\/api\/events'\)/);

  const topology = (await (await fetch(new URL('api/topology', url))).json()) as Topology;
  assert.equal(topology.source, `snapshot ${join(fixtures, 'healthy')}`);
  assert.deepEqual(
    topology.nodes.map((n) => n.host),
    ['compute1', 'controller'],
  );
  assert.equal(topology.summary.missing + topology.summary.mismatch + topology.summary.down + topology.summary.unexpected, 0);
  const { resources } = (await (await fetch(new URL('api/resources', url))).json()) as View['resources'];
  assert.deepEqual([...new Set(resources.map((r) => r.type))].sort(), [
    'floatingip',
    'network',
    'port',
    'router',
    'security_group',
    'subnet',
  ]);

  const trace = (await (await fetch(new URL(`api/trace?fip=${FIP}`, url))).json()) as TraceReport;
  assert.equal(trace.verdict, 'healthy');
  assert.ok(trace.hops.some((h) => h.device?.startsWith('qg-')));
  const bad = await fetch(new URL('api/trace', url));
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { NeutronError: { type: string } }).NeutronError.type, 'BadRequest');

  const post = await fetch(new URL('api/topology', url), { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.match(((await post.json()) as { NeutronError: { message: string } }).NeutronError.message, /read-only/);
  assert.equal((await fetch(new URL('nope', url))).status, 404);

  const abort = new AbortController();
  const first = await viewEvents(new URL('api/events', url).href, abort.signal).next();
  abort.abort();
  assert.equal((first.value as View).version, 1);
  assert.deepEqual((first.value as View).topology, topology);
});

test('server-sent events follow the recording as it changes, and only when it changes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'neutrino-web-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The recording read switches at once from healthy to tap-down (a copy being written is never read half-done).
  await cp(join(fixtures, 'healthy'), join(dir, 'healthy'), { recursive: true });
  await cp(join(fixtures, 'tap-down'), join(dir, 'tap-down'), { recursive: true });
  let current = join(dir, 'healthy');
  let reads = 0;
  const source = new ViewSource({ read: () => (reads++, loadSnapshot(current)), label: 'snapshot under test', intervalMs: 100 });
  await source.start();
  const server = await startWebServer(source, { host: '127.0.0.1', port: 0 });
  const abort = new AbortController();
  t.after(async () => {
    abort.abort();
    source.stop();
    await server.close();
  });
  const events = viewEvents(`${server.url}api/events`, abort.signal);
  const first = (await events.next()).value as View;
  assert.equal(first.version, 1);
  // Re-reads of an unchanged recording: no event, the version stays.
  const before = reads;
  // At least two re-reads (every 100 ms; waited for up to 10 s, as a loaded machine may be slow).
  for (let waited = 0; reads <= before + 1 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  assert.ok(reads > before + 1, `re-read ${reads - before} times`);
  assert.equal(source.view()!.version, 1);

  const changedAt = Date.now();
  current = join(dir, 'tap-down');
  const next = (await events.next()).value as View;
  assert.ok(Date.now() - changedAt < 2000, `${Date.now() - changedAt} ms`);
  assert.equal(next.version, 2);
  assert.equal(next.topology.summary.down, 1);
  const tap = next.topology.nodes.flatMap((n) => n.namespaces.flatMap((ns) => ns.devices)).find((d) => d.status === 'down')!;
  assert.equal(tap.faults[0]!.reason, 'DEVICE_DOWN');
});
