// Snapshots on disk: a browsable layout that loads back to the same value, and one-line reasons naming the file when it does not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST } from '../../src/kernel/types.ts';
import { parseNamespace } from '../../src/observe/node.ts';
import { loadSnapshot, saveSnapshot, SnapshotError } from '../../src/trace/read/snapshot-io.ts';
import type { NodeDump, Snapshot } from '../../src/trace/snapshot.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/kernel/${name}`, import.meta.url), 'utf8');

function dump(host: string, access: string): NodeDump {
  return {
    host,
    access,
    collectedAt: '2026-11-27T10:00:00.000Z',
    agentConfig: { path: '/etc/neutron/plugins/ml2/linuxbridge_agent.ini', text: '[vxlan]\nlocal_ip = 192.168.0.105\n' },
    namespaces: {
      [HOST]: {
        ip: fixture('node1-ip-batch.jsonl'),
        route6: fixture('node1-route6.json'),
        fdb: fixture('node1-fdb.json'),
        iptablesSave: fixture('node1-iptables-save.txt'),
        sysctl: 'net.ipv4.ip_forward = 0\n',
      },
      'qrouter-6f1b2c3d-0000-4000-8000-000000000001': null,
    },
    conntrack: {},
    instances: {
      'b1c2d3e4-0000-4000-8000-000000000002': {
        path: '/var/lib/nova/instances/b1c2d3e4-0000-4000-8000-000000000002/libvirt.xml',
        xml: null,
      },
    },
    errors: ['cannot read conntrack -L in namespace qrouter-x: no such namespace'],
    commands: {
      [HOST]: { netns: { argv: ['ip', '-j', 'netns', 'list'] }, ip: { argv: ['ip', '-j', '-d', '-batch', '-'], stdin: 'link show\n' } },
    },
  };
}

const snapshot = (): Snapshot => ({
  version: 1,
  createdAt: '2026-11-27T10:00:01.000Z',
  source: { endpoint: 'http://127.0.0.1:9696', lab: 'x1' },
  api: {
    networks: [{ id: 'n1', name: 'selfservice', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 41 }],
    subnets: [{ id: 's1', network_id: 'n1', cidr: '172.16.1.0/24', enable_dhcp: true }],
    ports: [{ id: 'p1', network_id: 'n1', 'binding:host_id': 'compute1', fixed_ips: [{ subnet_id: 's1', ip_address: '172.16.1.3' }] }],
    routers: [],
    floatingips: [],
    security_groups: [{ id: 'sg1', name: 'default', security_group_rules: [{ id: 'r1', direction: 'ingress', protocol: 'icmp' }] }],
    agents: [{ id: 'a1', host: 'compute1', agent_type: 'Linux bridge agent', alive: true }],
    router_hosts: {},
    dhcp_hosts: { n1: ['controller'] },
    errors: ["GET /v2.0/networks/n1/dhcp-agents answered 403: hosts taken from the ports' binding:host_id instead"],
  },
  // A host name that is not a plain file name still stays inside nodes/.
  nodes: { compute1: dump('compute1', 'netns:x1-compute1'), 'odd/../host': dump('odd/../host', 'ssh:root@192.168.0.9') },
});

let dir = '';
before(() => (dir = mkdtempSync(join(tmpdir(), 'neutrino-snapshot-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

test('save then load gives the same snapshot; the layout is snapshot.json plus one file per node', async () => {
  const snap = snapshot();
  const d = join(dir, 'roundtrip');
  await saveSnapshot(d, snap);
  assert.deepEqual(readdirSync(d).sort(), ['nodes', 'snapshot.json']);
  assert.deepEqual(readdirSync(join(d, 'nodes')).sort(), ['compute1.json', 'odd%2F..%2Fhost.json']);
  const index = JSON.parse(readFileSync(join(d, 'snapshot.json'), 'utf8'));
  assert.deepEqual(index.nodes, ['compute1', 'odd/../host']);
  assert.equal(index.api.networks[0].name, 'selfservice');
  const back = await loadSnapshot(d);
  assert.deepEqual(back, snap);
  // What was saved is still the agent's raw output: it parses as before.
  const links = parseNamespace(HOST, back.nodes['compute1']!.namespaces[HOST]!).state.links.map((l) => l.name);
  assert.ok(links.includes('vxlan-41') && links.includes('brqe6e37ba0-3b'), links.join(' '));
  // Saving again over it (a re-record) replaces it.
  snap.api.routers.push({ id: 'r1', name: 'router' });
  await saveSnapshot(d, snap);
  assert.deepEqual((await loadSnapshot(d)).api.routers, [{ id: 'r1', name: 'router' }]);
});

test('loading fails with one line naming the file and what is wrong', async () => {
  const d = join(dir, 'broken');
  const index = join(d, 'snapshot.json');
  const node = join(d, 'nodes', 'compute1.json');
  const expectError = async (re: RegExp) => {
    const e = await loadSnapshot(d).catch((x: unknown) => x);
    assert.ok(e instanceof SnapshotError, String(e));
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), e.message);
  };
  const edit = (file: string, f: (v: any) => void) => {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    f(v);
    writeFileSync(file, JSON.stringify(v));
  };

  await expectError(new RegExp(`^${index}: missing \\(not a snapshot directory`));
  await saveSnapshot(d, snapshot());
  edit(index, (v) => (v.version = 2));
  await expectError(new RegExp(`^${index}: snapshot version 2 is not supported \\(this neutrino reads version 1\\)$`));
  edit(index, (v) => ((v.version = 1), (v.api.ports = [{ name: 'no id' }])));
  await expectError(new RegExp(`^${index}: api.ports is missing or malformed$`));
  edit(index, (v) => ((v.api.ports = []), delete v.api.router_hosts));
  await expectError(/api.router_hosts is missing or malformed/);
  edit(index, (v) => ((v.api.router_hosts = {}), (v.source = { lab: 'x1' })));
  await expectError(/snapshot.json: source is missing or malformed/);
  edit(index, (v) => (v.source = { endpoint: 'http://x' }));

  edit(node, (v) => delete v.namespaces[''].iptablesSave);
  await expectError(new RegExp(`^${node}: namespaces\\[""\\].iptablesSave is missing or malformed$`));
  edit(node, (v) => ((v.namespaces[''].iptablesSave = ''), (v.host = 'compute2')));
  await expectError(new RegExp(`^${node}: holds host 'compute2', snapshot.json lists 'compute1'$`));
  edit(node, (v) => ((v.host = 'compute1'), (v.commands = { '': { ip: { argv: 'ip -j' } } })));
  await expectError(/compute1.json: commands is malformed/);
  edit(node, (v) => ((v.commands = undefined), (v.agentConfig = { path: '/x' })));
  await expectError(/compute1.json: agentConfig is missing or malformed/);
  writeFileSync(node, '{"host": ');
  await expectError(new RegExp(`^${node}: not valid JSON`));
  unlinkSync(node);
  await expectError(new RegExp(`^${node}: missing`));
});

test('saving refuses a node whose dump is of another host', async () => {
  const snap = snapshot();
  snap.nodes['compute1']!.host = 'controller';
  await assert.rejects(saveSnapshot(join(dir, 'mismatch'), snap), /node 'compute1' holds the dump of 'controller'/);
});
