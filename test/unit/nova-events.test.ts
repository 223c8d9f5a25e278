// Which port changes become Nova events (Neutron's nova notifier's table), and the [nova] settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isComputePort, networkChangedEvent, portDeletedEvent, portStatusEvent } from '../../src/model/nova-events.ts';
import { eventOfFact } from '../../src/notify/nova-notifier.ts';
import { parseNovaOptions, NovaConfigError } from '../../src/server-config-nova.ts';

const vm = { id: 'p1', device_id: '3f2a1c54-0b8e-4a51-9d3c-2b1e5f6a7c80', device_owner: 'compute:nova' };

test('status transitions: plugged from nothing, DOWN or BUILD to ACTIVE or ERROR; unplugged ACTIVE to DOWN; nothing else', () => {
  const statuses = [null, 'DOWN', 'BUILD', 'ACTIVE', 'ERROR'];
  const seen: Record<string, string> = {};
  for (const from of statuses)
    for (const to of statuses.slice(1)) {
      const e = portStatusEvent(vm, from, to!);
      if (e) seen[`${from}>${to}`] = `${e.name}/${e.status}`;
    }
  assert.deepEqual(seen, {
    'null>ACTIVE': 'network-vif-plugged/completed',
    'null>ERROR': 'network-vif-plugged/failed',
    'DOWN>ACTIVE': 'network-vif-plugged/completed',
    'DOWN>ERROR': 'network-vif-plugged/failed',
    'BUILD>ACTIVE': 'network-vif-plugged/completed',
    'BUILD>ERROR': 'network-vif-plugged/failed',
    'ACTIVE>DOWN': 'network-vif-unplugged/completed',
  });
  assert.deepEqual(portStatusEvent(vm, 'DOWN', 'ACTIVE'), {
    server_uuid: vm.device_id,
    name: 'network-vif-plugged',
    status: 'completed',
    tag: 'p1',
  });
  assert.deepEqual(portDeletedEvent(vm), { server_uuid: vm.device_id, name: 'network-vif-deleted', tag: 'p1' });
});

test("only instances' ports: owner compute:*, device_id UUID-like (oslo's is_uuid_like)", () => {
  assert.ok(isComputePort({ ...vm, device_owner: 'compute:az1' }));
  assert.ok(isComputePort({ ...vm, device_id: vm.device_id.replaceAll('-', '').toUpperCase() }));
  assert.ok(!isComputePort({ ...vm, device_owner: 'network:dhcp' }));
  assert.ok(!isComputePort({ ...vm, device_owner: '' }));
  assert.ok(!isComputePort({ ...vm, device_id: '' }));
  assert.ok(!isComputePort({ ...vm, device_id: 'vm-1' }));
  assert.equal(portDeletedEvent({ ...vm, device_owner: 'network:router_interface' }), null);
});

test('network-changed: an instance port’s, without status; none for other ports; off with notify_nova_on_port_data_changes', () => {
  assert.deepEqual(networkChangedEvent(vm), { name: 'network-changed', server_uuid: vm.device_id, tag: 'p1' });
  assert.equal(networkChangedEvent({ ...vm, device_owner: 'network:router_gateway' }), null);
  const on = { notifyOnStatusChanges: true, notifyOnDataChanges: true };
  const off = { notifyOnStatusChanges: true, notifyOnDataChanges: false };
  assert.equal(eventOfFact({ kind: 'changed', port: vm }, on)?.name, 'network-changed');
  assert.equal(eventOfFact({ kind: 'changed', port: vm }, off), null);
  assert.equal(eventOfFact({ kind: 'deleted', port: vm }, off), null);
  assert.equal(eventOfFact({ kind: 'status', port: vm, previous: 'DOWN', current: 'ACTIVE' }, off)?.name, 'network-vif-plugged');
});

test('[nova]: Neutron defaults, no section or no auth_type means off, unknown options warn, bad values refused', () => {
  const nova = { auth_type: 'password', auth_url: 'http://keystone:5000/', username: 'nova', password: 'pw', project_name: 'service' };
  const warnings: string[] = [];
  assert.equal(parseNovaOptions({}, undefined, warnings), null);
  const c = parseNovaOptions({}, { ...nova, cafile: '/x', insecure: 'true' }, warnings)!;
  assert.equal(c.authUrl, 'http://keystone:5000');
  assert.deepEqual(
    [c.endpointType, c.sendEventsInterval, c.httpRetries, c.notifyOnStatusChanges, c.notifyOnDataChanges],
    ['public', 2, 3, true, true],
  );
  assert.deepEqual(warnings, ['[nova] options not implemented by neutrino, without effect: cafile, insecure']);
  const off: string[] = [];
  assert.equal(parseNovaOptions({}, { region_name: 'r' }, off), null);
  assert.match(off[0]!, /no auth_type/);
  const d = parseNovaOptions({ send_events_interval: '5', http_retries: '0', notify_nova_on_port_data_changes: 'false' }, nova, [])!;
  assert.deepEqual([d.sendEventsInterval, d.httpRetries, d.notifyOnDataChanges], [5, 0, false]);
  assert.throws(() => parseNovaOptions({ send_events_interval: '0' }, nova, []), NovaConfigError);
  assert.throws(() => parseNovaOptions({}, { ...nova, auth_type: 'token' }, []), /auth_type must be 'password'/);
  assert.throws(() => parseNovaOptions({}, { ...nova, endpoint_type: 'publicURL' }, []), /endpoint_type/);
  assert.throws(() => parseNovaOptions({}, { ...nova, password: '' }, []), /needs password/);
});
