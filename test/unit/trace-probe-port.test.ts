// What `--probe` captures on a port's path (no root): every device the port trace names, each
// following the destination address (no NAT on the destination), on a recorded lab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tracePort } from '../../src/trace/walk/port.ts';
import { probePort } from '../../src/trace/probe/probe.ts';
import { pathCapturePoints, withUnderlayHops } from '../../src/trace/probe/probe-plan.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { nodeAccess, parseAccess } from '../../src/trace/read/access.ts';

const snap = await loadSnapshot(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace-dhcp', 'healthy'));
const instancePort = snap.api.ports.find((p) => String(p['device_owner']).startsWith('compute:'))!;

test("a port's way out through SNAT: one capture per device, all following the destination, the underlay included", () => {
  const report = withUnderlayHops(
    tracePort(contextFrom(snap, 'snapshot'), instancePort.id, '10.123.123.1', { flow: { protocol: 'icmp' } }),
  );
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  assert.equal(report.target.destination, '10.123.123.1');
  const points = pathCapturePoints(report, { protocol: 'icmp' }, () => report.target.destination!);
  const devices = points.map((p) => `${p.node}/${p.namespace}/${p.device}`);
  assert.equal(new Set(devices).size, devices.length, 'one capture per device');
  assert.deepEqual(new Set(points.map((p) => p.node)), new Set(['compute1', 'controller']));
  assert.ok(
    points.some((p) => p.device.startsWith('qg-') && p.namespace.startsWith('qrouter-')),
    'in the router namespace',
  );
  for (const p of points.filter((x) => !x.encapsulated)) assert.equal(p.filter, 'icmp and host 10.123.123.1');
  const underlay = points.filter((p) => p.encapsulated);
  assert.equal(underlay.length, 2, 'the underlay NIC on both ends of the tunnel');
  for (const p of underlay)
    assert.match(p.filter, /^udp port 8472 and udp\[39\] = 1 and \(udp\[42:4\] = 0x0a7b7b01 or udp\[46:4\] = 0x0a7b7b01\)$/);
});

test('a port trace that found no destination sends nothing and says so', async () => {
  const report = tracePort(contextFrom(snap, 'snapshot'), instancePort.id, '10.123.123.1', { flow: { protocol: 'icmp' } });
  delete report.target.destination;
  const local = nodeAccess(parseAccess('local'));
  const r = await probePort(report, { access: {}, from: { access: local, label: 'local' } });
  assert.equal(r.probe, undefined);
  assert.match(r.warnings.at(-1)!, /^probe: nothing sent: the trace has no destination address/);
});
