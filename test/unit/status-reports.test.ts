// The statuses an agent reports: its own last report counts while the view holds the same port object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PortView } from '../../src/model/hostview.js';
import { keptReports, statusesToReport, type ReportedStatuses } from '../../src/agent/status-reports.js';

const port = (id: string, status: string): PortView => ({
  id,
  network_id: 'n',
  mac_address: 'fa:16:3e:00:00:01',
  fixed_ips: [],
  device_owner: 'compute:nova',
  device_id: 'vm',
  admin_state_up: true,
  status,
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  extra_dhcp_opts: [],
  binding_host_id: 'h1',
});

test('a report stands while the view holds the same port object; a rewritten port shows the server again', () => {
  const a = port('a', 'DOWN');
  const b = port('b', 'ACTIVE');
  let reported: ReportedStatuses = new Map();
  let made = statusesToReport([a, b], { a: 'ACTIVE', b: 'ACTIVE' }, reported);
  assert.deepEqual(made, { a: 'ACTIVE' });
  reported = keptReports([a, b], reported, made);
  // The same view (the server's answer to the report not in yet): nothing to say again.
  assert.deepEqual(statusesToReport([a, b], { a: 'ACTIVE', b: 'ACTIVE' }, reported), {});
  // The view rewrote `a` (moved away and back: DOWN on the server): report it again.
  const a2 = port('a', 'DOWN');
  made = statusesToReport([a2, b], { a: 'ACTIVE', b: 'ACTIVE' }, reported);
  assert.deepEqual(made, { a: 'ACTIVE' });
  // A port gone from the view is forgotten.
  reported = keptReports([b], keptReports([a2, b], reported, made), {});
  assert.deepEqual([...reported.keys()], []);
  // Statuses of ports not in the view are never reported.
  assert.deepEqual(statusesToReport([b], { x: 'ACTIVE' }, reported), {});
});
