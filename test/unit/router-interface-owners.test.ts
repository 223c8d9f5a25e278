// The owners of router interfaces (Neutron's ROUTER_INTERFACE_OWNERS): an HA router's interfaces are
// `network:ha_router_replicated_interface` (_get_device_owner), and whatever reads ports by owner
// takes them for router interfaces (qr- devices), not the `ha-` ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interfaceOwner } from '../../src/networking/router-common.ts';
import { portDeviceName } from '../../src/web/resources.ts';
import { qrName, tapName } from '../../src/kernel/names.ts';

const ID = 'e5e5e5e5-1111-4222-8333-944445555666';

test('an HA router’s interfaces are replicated interfaces, realized as qr- devices', () => {
  assert.equal(interfaceOwner({ ha: 1 }), 'network:ha_router_replicated_interface');
  assert.equal(interfaceOwner({ ha: 0 }), 'network:router_interface');
  assert.equal(portDeviceName({ id: ID, device_owner: 'network:ha_router_replicated_interface' }), qrName(ID));
  assert.equal(portDeviceName({ id: ID, device_owner: 'network:router_interface' }), qrName(ID));
  assert.equal(portDeviceName({ id: ID, device_owner: 'network:router_ha_interface' }), tapName(ID));
});
