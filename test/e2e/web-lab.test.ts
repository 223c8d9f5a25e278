// `neutrino web --lab` as root on a live lab: the topology shows the lab's nodes, and an instance
// created while the page is watched appears — its tap in the network's bridge on its node — in
// /api/topology and as a server-sent event, without a restart. Started with --allow-probe, the page
// probes the instance's floating IP with real traffic (without it, the probe is refused).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk, neutrinoSpawn } from '../helpers/neutrino-cli.ts';
import { webUrl } from '../helpers/web.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { createLabProvider, eventually, labUpAsAdmin } from '../helpers/lab.ts';
import type { Topology } from '../../src/web/topology.ts';
import type { TraceReport } from '../../src/trace/report.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `w${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-web-lab-'));
const L = ['--lab', lab, '--state-root', root];
let env: NodeJS.ProcessEnv;

const openstack = (...args: string[]) => JSON.parse(execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' }));

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
});

after(async () => {
  if (skip) return;
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  rmSync(root, { recursive: true, force: true });
});

test('an instance created while neutrino web watches the lab appears in its topology', { skip, timeout: 240_000 }, async (t) => {
  const net = openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  const web = neutrinoSpawn(['web', ...L, '--listen', '127.0.0.1:0']);
  t.after(() => web.kill('SIGTERM'));
  const url = await webUrl(web);
  const topology = async () => (await (await fetch(new URL('api/topology', url))).json()) as Topology;
  const before = await topology();
  assert.equal(before.source, `live, lab ${lab}`);
  assert.deepEqual(before.nodes.map((n) => n.host).sort(), ['compute1', 'controller']);
  const taps = (topo: Topology) =>
    topo.nodes.flatMap((n) => n.namespaces.filter((ns) => ns.name === '').flatMap((ns) => ns.devices.map((d) => ({ ...d, host: n.host }))));
  assert.ok(!taps(before).some((d) => d.host === 'compute1' && d.name.startsWith('tap')));

  await neutrinoOk(['instance', 'create', ...L, 'vm1', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  const port = openstack('port', 'list', '--network', net.id, '--device-owner', 'compute:nova')[0] as { ID: string };
  const tapName = `tap${port.ID.slice(0, 11)}`;
  const brq = `brq${String(net.id).slice(0, 11)}`;
  const seen = await eventually(
    `${tapName} in the topology`,
    async () => {
      const tap = taps(await topology()).find((d) => d.host === 'compute1' && d.name === tapName);
      return tap?.status === 'ok' ? tap : undefined;
    },
    30_000,
  );
  assert.equal(seen.master, brq);
  assert.deepEqual(seen.faults, []);
  // Read-only: no probe without --allow-probe.
  assert.deepEqual(await (await fetch(new URL('api/config', url))).json(), { allowProbe: false });
  const refused = await fetch(new URL('api/probe?fip=10.123.123.104', url), { method: 'POST' });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { NeutronError: { type: string } }).NeutronError.type, 'Forbidden');
});

test(
  'with --allow-probe the page probes a floating IP: echo requests and replies counted on the path',
  { skip, timeout: 300_000 },
  async (t) => {
    createLabProvider(openstack);
    openstack('router', 'create', '--project', 'demo', 'router');
    execFileSync('openstack', ['router', 'set', '--external-gateway', 'provider', 'router'], { env });
    execFileSync('openstack', ['router', 'add', 'subnet', 'router', 'selfservice'], { env });
    const def = (openstack('security', 'group', 'list', '--project', 'demo') as Array<{ ID: string; Name: string }>).find(
      (g) => g.Name === 'default',
    )!;
    execFileSync('openstack', ['security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', def.ID], { env });
    const port = openstack('port', 'list', '--device-owner', 'compute:nova')[0] as { ID: string };
    openstack('floating', 'ip', 'create', '--project', 'demo', '--floating-ip-address', '10.123.123.104', '--port', port.ID, 'provider');
    // Its own temp directory: what a probe leaves there is seen below.
    const webTmp = join(root, 'web-tmp');
    mkdirSync(webTmp);
    const web = neutrinoSpawn(['web', ...L, '--listen', '127.0.0.1:0', '--allow-probe'], { ...process.env, TMPDIR: webTmp });
    t.after(() => web.kill('SIGTERM'));
    const url = await webUrl(web);
    assert.deepEqual(await (await fetch(new URL('api/config', url))).json(), { allowProbe: true });
    // The router and its floating IP realised and read: the static trace is healthy first.
    await eventually(
      'a healthy trace of the floating IP',
      async () => ((await (await fetch(new URL('api/trace?fip=10.123.123.104', url))).json()) as TraceReport).verdict === 'healthy',
      60_000,
    );
    const res = await fetch(new URL('api/probe?fip=10.123.123.104', url), { method: 'POST' });
    const report = (await res.json()) as TraceReport;
    assert.equal(res.status, 200, JSON.stringify(report));
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.hops.filter((h) => h.status !== 'ok')));
    const tap = report.hops.find((h) => h.node === 'compute1' && h.device?.startsWith('tap') && h.capture);
    assert.ok(tap?.capture, 'the instance tap was captured on');
    assert.ok(tap.capture.request >= 1 && (tap.capture.reply ?? 0) >= 1, JSON.stringify(tap.capture));
    // The page shows counts, never pcaps: a probe's captures are removed once counted, and the
    // report names no directory that is gone.
    assert.equal(report.probe?.captureDir, undefined);
    assert.deepEqual(readdirSync(webTmp), [], 'the probe left files behind');
  },
);
