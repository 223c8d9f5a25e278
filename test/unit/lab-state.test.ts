// lab.json parsing, clouds.yaml and `lab env`, and what the DHCP hook does with udhcpc's environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labPaths } from '../../src/lab/paths.ts';
import { newLabState, parseLabState } from '../../src/lab/state.ts';
import { envLines, labClouds, renderCloudsYaml } from '../../src/lab/clouds.ts';
import { shellQuote } from '../../src/exec/shell-quote.ts';
import { leaseCommands, parseStaticRoutes } from '../../src/lab/dhcp-lease.ts';
import { LabError } from '../../src/lab/topology.ts';

const paths = labPaths('/tmp/root', 'lt');
const fresh = () =>
  newLabState({
    lab: 'lt',
    stateDir: paths.dir,
    nodes: ['controller', 'compute1'],
    socket: paths.socket,
    agents: true,
    adminPassword: 'a',
    demoPassword: 'd',
    now: new Date(0),
  });

test('paths: everything under <root>/labs/<lab>', () => {
  assert.equal(paths.labJson, '/tmp/root/labs/lt/lab.json');
  assert.equal(paths.socket, '/tmp/root/labs/lt/server.sock');
  assert.equal(paths.agentIni('compute1'), '/tmp/root/labs/lt/nodes/compute1/agent.ini');
  assert.equal(paths.agentLog('compute1'), '/tmp/root/labs/lt/logs/agent-compute1.log');
  assert.equal(paths.instanceDir('x'), '/tmp/root/labs/lt/instances/x');
});

test('lab.json round-trips and rejects damaged files', () => {
  const s = fresh();
  s.server.pid = 1234;
  s.nodes[1].agentPid = 4321;
  assert.deepEqual(parseLabState(JSON.stringify(s)), s);
  assert.throws(() => parseLabState('{'), LabError);
  assert.throws(() => parseLabState(JSON.stringify({ ...s, version: 2 })), /unknown version/);
  const renamed = structuredClone(s);
  renamed.topology.nodes[0].namespace = 'eth0';
  assert.throws(() => parseLabState(JSON.stringify(renamed)), /topology/);
  const badPid = structuredClone(s);
  badPid.nodes[0].agentPid = 1;
  assert.throws(() => parseLabState(JSON.stringify(badPid)), /PID/);
  assert.throws(() => parseLabState(JSON.stringify({ ...s, lab: 'Bad Lab' })), /invalid lab name/);
});

test('clouds.yaml: <lab>-admin and <lab> (demo), auth_url under /identity/v3; env lines', () => {
  const yaml = renderCloudsYaml('http://127.0.0.1:4000', labClouds('lt', 'apw', 'dpw'));
  assert.match(yaml, /^clouds:$/m);
  assert.match(
    yaml,
    /"lt-admin":\n {4}auth:\n {6}auth_url: "http:\/\/127\.0\.0\.1:4000\/identity\/v3"\n {6}username: "admin"\n {6}password: "apw"\n {6}project_name: "admin"/,
  );
  assert.match(yaml, /"lt":\n {4}auth:\n[^]*username: "demo"\n {6}password: "dpw"\n {6}project_name: "demo"/);
  assert.equal(envLines('/s/labs/lt/clouds.yaml', 'lt'), 'export OS_CLIENT_CONFIG_FILE=/s/labs/lt/clouds.yaml\nexport OS_CLOUD=lt\n');
  assert.equal(shellQuote("/a b/it's"), `'/a b/it'\\''s'`);
});

test('DHCP hook: address, MTU and default route from a lease; RFC 3442 routes win over the router option; IPv6 addresses stay', () => {
  const env = {
    interface: 'eth0',
    ip: '172.16.1.3',
    subnet: '255.255.255.0',
    router: '172.16.1.1',
    mtu: '1450',
    broadcast: '172.16.1.255',
  };
  assert.deepEqual(leaseCommands('bound', env), [
    ['ip', 'link', 'set', 'dev', 'eth0', 'mtu', '1450'],
    ['ip', '-4', 'addr', 'flush', 'dev', 'eth0'],
    ['ip', 'addr', 'replace', '172.16.1.3/24', 'broadcast', '172.16.1.255', 'dev', 'eth0'],
    ['ip', 'route', 'replace', 'default', 'via', '172.16.1.1', 'dev', 'eth0'],
  ]);
  const withRoutes = leaseCommands('renew', { ...env, mask: '24', staticroutes: '169.254.169.254/32 172.16.1.2 0.0.0.0/0 172.16.1.1' });
  assert.deepEqual(withRoutes.slice(-2), [
    ['ip', 'route', 'replace', '169.254.169.254/32', 'via', '172.16.1.2', 'dev', 'eth0'],
    ['ip', 'route', 'replace', 'default', 'via', '172.16.1.1', 'dev', 'eth0'],
  ]);
  assert.ok(!withRoutes.some((c) => c.includes('flush')), 'a renewal keeps the address');
  assert.deepEqual(leaseCommands('deconfig', env), [
    ['ip', '-4', 'addr', 'flush', 'dev', 'eth0'],
    ['ip', 'link', 'set', 'dev', 'eth0', 'up'],
  ]);
  for (const event of ['bound', 'deconfig'])
    for (const c of leaseCommands(event, env).filter((x) => x.includes('flush')))
      assert.equal(c[1], '-4', `${event} flushes IPv4 addresses only (the link-local IPv6 address stays)`);
  assert.deepEqual(leaseCommands('leasefail', env), []);
  assert.deepEqual(leaseCommands('bound', { ...env, interface: 'eth0; rm -rf /' }), [], 'no odd device names');
  assert.deepEqual(leaseCommands('bound', { ...env, subnet: '255.0.255.0' }), [], 'no non-contiguous masks');
  assert.deepEqual(parseStaticRoutes('10.0.0.0/8 0.0.0.0 junk'), [{ dest: '10.0.0.0/8', via: '0.0.0.0' }]);
});
