// The statuses an agent reports: views show none, so its own last report counts, while the view
// holds the same port object; anything else is reported (the server changes nothing it already holds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PortView } from '../../src/model/hostview.ts';
import { keptReports, statusesToReport, type ReportedStatuses } from '../../src/agent/status-reports.ts';

const port = (id: string): PortView => ({
  id,
  network_id: 'n',
  mac_address: 'fa:16:3e:00:00:01',
  fixed_ips: [],
  device_owner: 'compute:nova',
  device_id: 'vm',
  admin_state_up: true,
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  extra_dhcp_opts: [],
  binding_host_id: 'h1',
});

test('a report stands while the view holds the same port object; a port rewritten or fetched anew is reported again', () => {
  const a = port('a');
  const b = port('b');
  // A view fetched whole (a start): every status is told once.
  let made = statusesToReport([a, b], { a: 'ACTIVE', b: 'DOWN' }, new Map());
  assert.deepEqual(made, { a: 'ACTIVE', b: 'DOWN' });
  let reported: ReportedStatuses = keptReports([a, b], new Map(), made);
  // The same view: nothing to say again, until a status changes.
  assert.deepEqual(statusesToReport([a, b], { a: 'ACTIVE', b: 'DOWN' }, reported), {});
  made = statusesToReport([a, b], { a: 'ACTIVE', b: 'ACTIVE' }, reported);
  assert.deepEqual(made, { b: 'ACTIVE' });
  reported = keptReports([a, b], reported, made);
  assert.equal(reported.get('a')!.status, 'ACTIVE');
  assert.equal(reported.get('b')!.status, 'ACTIVE');
  // The view rewrote `a` (moved away and back: DOWN on the server): it is reported again.
  const a2 = port('a');
  made = statusesToReport([a2, b], { a: 'ACTIVE', b: 'ACTIVE' }, reported);
  assert.deepEqual(made, { a: 'ACTIVE' });
  // A port gone from the view is forgotten; statuses of ports not in the view are never reported.
  reported = keptReports([b], keptReports([a2, b], reported, made), {});
  assert.deepEqual([...reported.keys()], ['b']);
  assert.deepEqual(statusesToReport([b], { b: 'ACTIVE', x: 'ACTIVE' }, reported), {});
});
