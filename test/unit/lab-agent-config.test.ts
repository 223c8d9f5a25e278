import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labNamespaces, labTopology, LabError } from '../../src/lab/topology.ts';
import { renderDomainXml } from '../../src/lab/libvirt.ts';
import { parseDomainInterfaces } from '../../src/observe/libvirt.ts';
import { AgentConfigError, parseAgentConfig, renderAgentConfig, serverUrlsOf } from '../../src/agent/config.ts';

test('lab topology: scenario names and addresses, every namespace prefixed by the lab', () => {
  const t = labTopology('nt1', ['controller', 'compute1']);
  assert.deepEqual(
    t.nodes.map((n) => [n.name, n.namespace, n.managementNic, n.managementIp, n.providerNic]),
    [
      ['controller', 'nt1-controller', 'eth1', '192.168.0.104', 'eth2'],
      ['compute1', 'nt1-compute1', 'eth0', '192.168.0.105', 'eth1'],
    ],
  );
  assert.ok(labNamespaces(t).every((ns) => ns.startsWith('nt1-')));
  assert.equal(t.external.address, '10.123.123.1/24');
  assert.throws(() => labTopology('Bad Name', ['a']), LabError);
  assert.throws(() => labTopology('nt', ['a', 'a']), /twice/);
});

test('libvirt XML round-trips the interface the tracer reads', () => {
  const xml = renderDomainXml({
    id: '9fa7eaa3-71b4-475d-9f21-eb52f941b537',
    name: 'instance',
    interfaces: [{ mac: 'fa:16:3e:a7:f7:5a', bridge: 'brqe6e37ba0-3b', tap: 'tap3c338602-d8', mtu: 1450 }],
  });
  assert.match(xml, /<source bridge="brqe6e37ba0-3b"\/>/);
  assert.deepEqual(parseDomainInterfaces(xml), [{ mac: 'fa:16:3e:a7:f7:5a', bridge: 'brqe6e37ba0-3b', tap: 'tap3c338602-d8', mtu: 1450 }]);
});

test('agent config: Neutron layout, validation, round trip', () => {
  const text = `[DEFAULT]\nhost = compute1\n[linux_bridge]\nphysical_interface_mappings = provider:eth2\n[vxlan]\nlocal_ip = 192.168.0.105\n[neutrino]\nroles = l2,dhcp\n`;
  const c = parseAgentConfig(text);
  assert.equal(c.host, 'compute1');
  assert.equal(c.localIp, '192.168.0.105');
  assert.deepEqual(c.physicalInterfaceMappings, { provider: 'eth2' });
  assert.deepEqual(c.roles, ['l2', 'dhcp']);
  assert.deepEqual(parseAgentConfig(renderAgentConfig(c)), c);
  assert.equal(c.arpResponder, false, "[vxlan] arp_responder defaults to Neutron's false");
  const responder = parseAgentConfig(text.replace('local_ip = 192.168.0.105', 'local_ip = 192.168.0.105\narp_responder = true'));
  assert.equal(responder.arpResponder, true);
  assert.deepEqual(parseAgentConfig(renderAgentConfig(responder)), responder);
  assert.throws(() => parseAgentConfig('[vxlan]\nlocal_ip = 1.2.3.4\n'), AgentConfigError);
  assert.throws(() => parseAgentConfig('[DEFAULT]\nhost = h\n'), /local_ip is required/);
  assert.throws(() => parseAgentConfig(`${text}[linux_bridge]\nphysical_interface_mappings = provider\n`), /PHYSNET:INTERFACE/);
  assert.throws(
    () => parseAgentConfig(text.replace('l2,dhcp', 'l2,ovs')),
    /unknown role 'ovs' in \[neutrino\] roles \(known: l2, dhcp, l3\)$/,
  );
  assert.equal(c.gracefulShutdownTimeout, 5, 'graceful_shutdown_timeout defaults to 5 s');
  assert.equal(
    parseAgentConfig(text.replace('host = compute1', 'host = compute1\ngraceful_shutdown_timeout = 2')).gracefulShutdownTimeout,
    2,
  );
  assert.throws(
    () => parseAgentConfig(text.replace('host = compute1', 'host = compute1\ngraceful_shutdown_timeout = 0')),
    /graceful_shutdown_timeout/,
  );
});

test('agent config: several servers in [neutrino] server_url, tried in the order given', () => {
  const base = `[DEFAULT]\nhost = compute1\n[vxlan]\nlocal_ip = 192.168.0.105\n[neutrino]\n`;
  assert.deepEqual(serverUrlsOf(parseAgentConfig(base)), ['http://127.0.0.1:9696']);
  const two = parseAgentConfig(`${base}server_url = http://10.0.0.1:9696, http://10.0.0.2:9696\n`);
  assert.deepEqual(serverUrlsOf(two), ['http://10.0.0.1:9696', 'http://10.0.0.2:9696']);
  assert.deepEqual(serverUrlsOf(parseAgentConfig(renderAgentConfig(two))), serverUrlsOf(two));
});

test('agent config: [linux_bridge] bridge_mappings parsed, validated and rendered', () => {
  const text = `[DEFAULT]\nhost = n1\n[linux_bridge]\nbridge_mappings = provider:br-ex\n[vxlan]\nlocal_ip = 192.168.0.9\n`;
  const c = parseAgentConfig(text);
  assert.deepEqual(c.bridgeMappings, { provider: 'br-ex' });
  assert.deepEqual(parseAgentConfig(renderAgentConfig(c)), c);
  assert.deepEqual(parseAgentConfig(text.replace(/bridge_mappings.*\n/, '')).bridgeMappings, {});
  assert.throws(
    () => parseAgentConfig(text.replace('provider:br-ex', 'provider')),
    /invalid bridge_mappings entry 'provider': expected PHYSNET:BRIDGE/,
  );
});
