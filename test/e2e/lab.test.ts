// The lab end to end, as root, through the real CLI (node bin/neutrino.js, built first): namespaces
// and cables with the scenario's names, the server, `lab status/exec/env/down`, two labs at once;
// with agents: agents alive, and instances on two nodes that take their address by DHCP and ping.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { readCmdline } from '../../src/lab/procs.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
const tools = ['nsenter', 'udhcpc', 'ip'].every((t) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, t))));
const skip = !isRoot ? 'needs root (creates network namespaces)' : !tools ? 'needs iproute2, nsenter and udhcpc' : false;

const suffix = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
const labA = `t${suffix}`;
const labB = `u${suffix}`;
const labC = `v${suffix}`;
let root = '';

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Out> {
  return new Promise((res) => {
    execFile(process.execPath, [join(repo, 'bin', 'neutrino.js'), ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** `neutrino lab|instance SUB --lab L --state-root R ...rest`; the flags go before any `--`. */
const labCli = (group: string, sub: string, lab: string, ...rest: string[]) => cli(group, sub, '--lab', lab, '--state-root', root, ...rest);

async function ok(p: Promise<Out>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const labNamespaces = (lab: string) =>
  netns()
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`${lab}-`));
const rootLinks = () =>
  execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim())
    .filter(Boolean)
    .sort();
const inNs = (ns: string, ...argv: string[]) => execFileSync('nsenter', [`--net=/run/netns/${ns}`, '--', ...argv], { encoding: 'utf8' });
const linkJson = (ns: string, dev: string) =>
  JSON.parse(inNs(ns, 'ip', '-j', 'addr', 'show', 'dev', dev))[0] as {
    operstate: string;
    flags: string[];
    addr_info: Array<{ family: string; local: string; prefixlen: number }>;
  };
const ipv4 = (ns: string, dev: string) =>
  linkJson(ns, dev)
    .addr_info.filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixlen}`);

before(() => {
  if (skip) return;
  // The build (a no-op when dist/ is up to date, as under npm test); tsc emits even with type errors
  // elsewhere in the tree, so what the CLI needs must exist afterwards.
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(repo, 'tsconfig.json')], {
      stdio: 'ignore',
    });
  } catch {
    /* checked below */
  }
  for (const f of ['dist/cli/index.js', 'dist/lab/dhcp-hook.js']) assert.ok(existsSync(join(repo, f)), `${f} missing after the build`);
  root = mkdtempSync('/tmp/nlab-'); // 0700: lab up makes it searchable for dnsmasq (which runs as nobody)
});

after(async () => {
  if (skip || !root) return;
  for (const lab of [labA, labB, labC]) await labCli('lab', 'down', lab);
  rmSync(root, { recursive: true, force: true });
});

test(
  'lab up --no-agents: nodes, switch and external host in namespaces with the scenario NICs; status, exec, env, down',
  { skip, timeout: 180_000 },
  async () => {
    const linksBefore = rootLinks();
    const up = await ok(labCli('lab', 'up', labA, '--no-agents'));
    assert.match(up, /server started \(\d+ ms\)/);
    assert.deepEqual(labNamespaces(labA).sort(), [`${labA}-compute1`, `${labA}-controller`, `${labA}-external`, `${labA}-mgmt`]);
    assert.deepEqual(rootLinks(), linksBefore, 'no device added to the root namespace');
    assert.deepEqual(ipv4(`${labA}-controller`, 'eth1'), ['192.168.0.104/24']);
    assert.deepEqual(ipv4(`${labA}-compute1`, 'eth0'), ['192.168.0.105/24']);
    assert.deepEqual(ipv4(`${labA}-external`, 'eth0'), ['10.123.123.1/24']);
    const eth2 = linkJson(`${labA}-controller`, 'eth2');
    assert.ok(eth2.flags.includes('UP'), 'eth2 is up');
    assert.deepEqual(ipv4(`${labA}-controller`, 'eth2'), [], 'eth2 carries no address (the provider bridge takes it)');
    const ports = JSON.parse(inNs(`${labA}-mgmt`, 'bridge', '-j', 'link')) as Array<{ ifname: string; master: string }>;
    assert.deepEqual(ports.map((p) => `${p.ifname}>${p.master}`).sort(), [
      'p0>br-mgmt',
      'p1>br-mgmt',
      'v0>br-provider',
      'v1>br-provider',
      'vext>br-provider',
    ]);
    assert.ok(linkJson(`${labA}-compute1`, 'eth1').flags.includes('UP'), "compute1's provider NIC eth1 is up");
    inNs(`${labA}-compute1`, 'ping', '-c', '1', '-W', '2', '192.168.0.104');
    inNs(`${labA}-controller`, 'ping', '-c', '1', '-W', '2', '192.168.0.105');

    const st = JSON.parse(await ok(labCli('lab', 'status', labA, '--json')));
    assert.equal(st.lab, labA);
    assert.equal(st.stateDir, join(root, 'labs', labA));
    assert.ok(Number.isInteger(st.server.pid) && st.server.alive);
    assert.match(st.server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(
      st.nodes.map((n: { name: string; namespace: string; agentPid: null; managementIp: string }) => [
        n.name,
        n.namespace,
        n.agentPid,
        n.managementIp,
      ]),
      [
        ['controller', `${labA}-controller`, null, '192.168.0.104'],
        ['compute1', `${labA}-compute1`, null, '192.168.0.105'],
      ],
    );
    assert.equal(st.external.namespace, `${labA}-external`);
    assert.match(await ok(labCli('lab', 'status', labA)), /controller\s+\S+-controller/);

    assert.match(await ok(labCli('lab', 'exec', labA, 'controller', '--', 'ip', '-br', 'addr', 'show', 'eth1')), /192\.168\.0\.104\/24/);
    assert.match(await ok(labCli('lab', 'exec', labA, 'external', '--', 'ip', '-br', 'addr')), /10\.123\.123\.1\/24/);
    assert.equal((await labCli('lab', 'exec', labA, 'compute1', '--', 'sh', '-c', 'exit 7')).code, 7);
    const badNode = await labCli('lab', 'exec', labA, 'nosuch', '--', 'true');
    assert.equal(badNode.code, 2);
    assert.match(badNode.stderr, /^neutrino: lab '\w+' has no node 'nosuch'.*\n$/);

    const env = await ok(labCli('lab', 'env', labA));
    assert.equal(env, `export OS_CLIENT_CONFIG_FILE=${join(root, 'labs', labA, 'clouds.yaml')}\nexport OS_CLOUD=${labA}\n`);
    assert.match(await ok(labCli('lab', 'env', labA, '--admin')), new RegExp(`OS_CLOUD=${labA}-admin\\n$`));

    const again = await labCli('lab', 'up', labA, '--no-agents');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already up/);
    assert.equal(again.stderr.trim().split('\n').length, 1);

    const down = await ok(labCli('lab', 'down', labA));
    assert.match(down, /is down/);
    assert.deepEqual(labNamespaces(labA), []);
    assert.equal(readCmdline(st.server.pid)?.includes('server') ?? false, false, 'server ended');
    assert.ok(!existsSync(join(root, 'labs', labA)), 'lab dir removed');
    assert.deepEqual(rootLinks(), linksBefore);
    assert.match(await ok(labCli('lab', 'down', labA)), /nothing to remove/);
    const gone = await labCli('lab', 'status', labA, '--json');
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /is not up/);
  },
);

test('two labs at once do not collide', { skip, timeout: 180_000 }, async () => {
  await Promise.all([ok(labCli('lab', 'up', labA, '--no-agents')), ok(labCli('lab', 'up', labB, '--no-agents'))]);
  inNs(`${labA}-compute1`, 'ping', '-c', '1', '-W', '2', '192.168.0.104');
  inNs(`${labB}-compute1`, 'ping', '-c', '1', '-W', '2', '192.168.0.104');
  const [a, b] = await Promise.all([labCli('lab', 'status', labA, '--json'), labCli('lab', 'status', labB, '--json')]).then((r) =>
    r.map((x) => JSON.parse(x.stdout)),
  );
  assert.notEqual(a.server.url, b.server.url);
  await ok(labCli('lab', 'down', labA));
  assert.deepEqual(labNamespaces(labA), []);
  assert.equal(labNamespaces(labB).length, 4, 'the other lab is untouched');
  assert.ok(JSON.parse(await ok(labCli('lab', 'status', labB, '--json'))).server.alive);
  await ok(labCli('lab', 'down', labB));
  assert.deepEqual(labNamespaces(labB), []);
});

test('lab down cleans up after a half-made lab (namespaces left, no lab.json)', { skip, timeout: 60_000 }, async () => {
  execFileSync('ip', ['netns', 'add', `${labC}-controller`]);
  execFileSync('ip', ['netns', 'add', `${labC}-mgmt`]);
  const refused = await labCli('lab', 'up', labC, '--no-agents');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /already exists/);
  await ok(labCli('lab', 'down', labC));
  assert.deepEqual(labNamespaces(labC), []);
});

const agentSkip = skip || (!existsSync(join(repo, 'src', 'cli', 'agent.ts')) ? 'the agent command does not exist yet' : false);

test(
  'lab up with agents: every Linux bridge agent alive; instances on two nodes get DHCP addresses and ping each other',
  { skip: agentSkip, timeout: 240_000 },
  async () => {
    await ok(labCli('lab', 'up', labC));
    let networkId = '';
    try {
      const st = JSON.parse(await ok(labCli('lab', 'status', labC, '--json')));
      for (const n of st.nodes) assert.ok(Number.isInteger(n.agentPid) && n.agentAlive, `agent of ${n.name}`);
      const state = JSON.parse(readFileSync(join(root, 'labs', labC, 'lab.json'), 'utf8'));
      const admin = new NeutrinoClient(
        { url: st.server.url },
        { username: 'admin', password: state.server.adminPassword, project: 'admin' },
      );
      const { agents } = await admin.call<{ agents: Array<{ agent_type: string; host: string; alive: boolean }> }>('GET', '/v2.0/agents');
      for (const host of ['controller', 'compute1'])
        assert.ok(
          agents.some((a) => a.agent_type === 'Linux bridge agent' && a.host === host && a.alive),
          host,
        );

      const demo = new NeutrinoClient({ url: st.server.url }, { username: 'demo', password: state.demo.password, project: 'demo' });
      const { network } = await demo.call<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name: 'selfservice' } });
      networkId = network.id;
      await demo.call('POST', '/v2.0/subnets', {
        subnet: { network_id: network.id, name: 'selfservice', ip_version: 4, cidr: '172.16.1.0/24' },
      });
      const vm1 = await ok(
        labCli('instance', 'create', labC, 'vm1', '--network', 'selfservice', '--host', 'compute1', '--fixed-ip', '172.16.1.3'),
      );
      assert.match(vm1, /address 172\.16\.1\.3\/24 by DHCP/);
      await ok(labCli('instance', 'create', labC, 'vm2', '--network', 'selfservice', '--host', 'controller'));
      const list = JSON.parse(await ok(labCli('instance', 'list', labC, '--json')));
      assert.deepEqual(
        list.map((i: { name: string; host: string; namespace: string }) => [i.name, i.host, i.namespace]),
        [
          ['vm1', 'compute1', `${labC}-i-vm1`],
          ['vm2', 'controller', `${labC}-i-vm2`],
        ],
      );
      const xml = readFileSync(join(root, 'labs', labC, 'instances', list[0].id, 'libvirt.xml'), 'utf8');
      assert.match(xml, new RegExp(`<target dev="tap${list[0].port_id.slice(0, 11)}"/>`));
      assert.match(xml, new RegExp(`<source bridge="brq${network.id.slice(0, 11)}"/>`));
      assert.match(await ok(labCli('instance', 'exec', labC, 'vm1', '--', 'ip', 'link', 'show', 'eth0')), /mtu 1450/);
      await ok(labCli('instance', 'exec', labC, 'vm1', '--', 'ping', '-c', '2', '-W', '2', list[1].ip));
      const restarted = await ok(labCli('lab', 'restart-agent', labC, 'compute1'));
      assert.match(restarted, /agent of compute1 restarted: pid \d+ \(was \d+\)/);
      const compute = JSON.parse(await ok(labCli('lab', 'status', labC, '--json'))).nodes.find(
        (n: { name: string }) => n.name === 'compute1',
      );
      assert.ok(compute.agentAlive && compute.agentPid !== st.nodes[1].agentPid);
      await ok(labCli('instance', 'exec', labC, 'vm1', '--', 'ping', '-c', '1', '-W', '2', list[1].ip));
      await ok(labCli('instance', 'delete', labC, 'vm2'));
      assert.ok(!labNamespaces(labC).includes(`${labC}-i-vm2`));
      // A dnsmasq left running in a namespace deleted under it (no pid file, no named namespace) is
      // still the lab's by its command line: lab down ends it too.
      const orphanNs = `${labC}-orphan`;
      execFileSync('ip', ['netns', 'add', orphanNs]);
      const pidFile = join(root, 'labs', labC, 'orphan-dnsmasq.pid');
      execFileSync('nsenter', [
        `--net=/run/netns/${orphanNs}`,
        '--',
        'dnsmasq',
        '--port=0',
        '--conf-file=/dev/null',
        `--pid-file=${pidFile}`,
      ]);
      execFileSync('ip', ['netns', 'delete', orphanNs]);
      assert.ok(Number(readFileSync(pidFile, 'utf8')) > 1, 'the orphan runs');
    } finally {
      await ok(labCli('lab', 'down', labC));
    }
    assert.deepEqual(labNamespaces(labC), []);
    assert.ok(!netns().includes(`qdhcp-${networkId}`), 'the DHCP namespace is gone');
    const labDir = join(root, 'labs', labC);
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(labDir));
    assert.deepEqual(left, [], 'no process of the lab is left');
    assert.ok(!existsSync(join(root, 'labs', labC)));
  },
);
