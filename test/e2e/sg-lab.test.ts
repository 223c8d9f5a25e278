// Security groups end to end as root, driven with the real `openstack` CLI and
// `neutrino instance create|exec`: a lab (controller + compute1) and one self-service network; the
// instance `web` on compute1 in group `web` (ICMP and tcp/22 in), `b` on compute1 in group `client`,
// `a` on the controller in group `g`. Listeners run inside `web` (`nc -l -k PORT`, started detached,
// killed by PID). What is allowed connects, what is not does not; a rule added opens its port and
// deleted closes it; a remote-group rule admits the group's members only (through the IP set on
// compute1); a packet from `b` with a source address that is not its port's never reaches `web`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk, neutrinoSpawn } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labUpAsAdmin } from '../helpers/lab.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `s${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-sg-lab-'));
const L = ['--lab', lab, '--state-root', root];
/** Ports `web` listens on: 22 (allowed), 8080 (blocked until a rule opens it), 9090 (for group g only). */
const PORTS = [22, 8080, 9090];
/** A rule change reaches the kernel within the agent's reconcile budget: "a few seconds". */
const FEW_SECONDS = 5000;

let env: NodeJS.ProcessEnv;
let netId = '';
const listenerPids: number[] = [];
const ip: Record<string, string> = {};
const portOf: Record<string, string> = {};

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
/** The CLI without blocking, so that independent setup steps overlap. */
const openstackAsync = (...args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile('openstack', args, { env, encoding: 'utf8' }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))),
  );
const exec = (vm: string, argv: string[], timeoutMs = 20_000) => neutrino(['instance', 'exec', ...L, vm, '--', ...argv], timeoutMs);

/** A TCP connection from `vm` to web's port is accepted within a second. */
const connects = async (vm: string, port: number) => (await exec(vm, ['nc', '-z', '-w1', ip.web!, String(port)])).code === 0;
const pings = async (vm: string, extra: string[] = []) => (await exec(vm, ['ping', '-c', '1', '-W', '1', ...extra, ip.web!])).code === 0;

/** Waits until `fn` holds and says how long it took; fails after `FEW_SECONDS`. */
async function within(what: string, fn: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  await eventually(what, async () => (await fn()) || undefined, FEW_SECONDS);
  return Date.now() - start;
}

const t0 = Date.now();
const took = (what: string) => process.stdout.write(`# ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
  took('lab up');
  const network = async () => {
    netId = JSON.parse(await openstackAsync('network', 'create', '--project', 'demo', 'selfservice', '-f', 'json')).id;
    await openstackAsync(
      'subnet',
      'create',
      '--project',
      'demo',
      '--network',
      'selfservice',
      '--subnet-range',
      '172.16.1.0/24',
      // The pool ends at .200: the spoofed source 172.16.1.250 below is never an instance's address.
      '--allocation-pool',
      'start=172.16.1.2,end=172.16.1.200',
      'selfservice',
    );
  };
  const groups = async () => {
    await Promise.all(['web', 'client', 'g'].map((g) => openstackAsync('security', 'group', 'create', '--project', 'demo', g)));
    await openstackAsync('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', 'web');
    await openstackAsync('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '22', 'web');
  };
  await Promise.all([network(), groups()]);
  took('network and groups');
  const made: Array<[string, string, string]> = [
    ['web', 'compute1', 'web'],
    ['b', 'compute1', 'client'],
    ['a', 'controller', 'g'],
  ];
  await Promise.all(
    made.map(([name, host, group]) =>
      neutrinoOk(['instance', 'create', ...L, name, '--network', 'selfservice', '--host', host, '--security-group', group], 60_000),
    ),
  );
  took('instances');
  for (const i of JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{
    name: string;
    ip: string;
    port_id: string;
  }>) {
    ip[i.name] = i.ip;
    portOf[i.name] = i.port_id;
  }
  // Listeners inside `web`, detached from the exec that starts them; their PIDs are killed in after().
  for (const port of PORTS) {
    const r = await exec('web', ['sh', '-c', `nc -l -k ${port} </dev/null >/dev/null 2>&1 & echo $!`]);
    const pid = Number(r.stdout.trim());
    assert.ok(r.code === 0 && pid > 1, `listener on ${port}: ${r.stdout}${r.stderr}`);
    listenerPids.push(pid);
  }
});

after(async () => {
  if (skip) return;
  for (const pid of listenerPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(
    !left.split('\n').some((l) => l.startsWith(`${lab}-`) || (netId && l.startsWith(`qdhcp-${netId}`))),
    `namespaces left (lab ${lab}, network ${netId}): ${left}`,
  );
  rmSync(root, { recursive: true, force: true });
});

test('ICMP and tcp/22 allowed, tcp/8080 blocked; a rule added opens it, deleted closes it again', { skip, timeout: 60_000 }, async () => {
  // From the same node and from the other one (over VXLAN).
  for (const vm of ['b', 'a']) {
    await eventually(`${vm} pings web`, () => pings(vm));
    assert.ok(await connects(vm, 22), `${vm} → web tcp/22`);
    assert.equal(await connects(vm, 8080), false, `${vm} → web tcp/8080 is blocked`);
  }
  const rule = openstack('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '8080', 'web');
  const opened = await within('tcp/8080 opens after the rule is added', () => connects('b', 8080));
  assert.ok(await connects('a', 8080), 'open from the other node too');
  openstackRaw('security', 'group', 'rule', 'delete', rule.id);
  const closed = await within('tcp/8080 closes after the rule is deleted', async () => !(await connects('b', 8080)));
  assert.equal(await connects('a', 8080), false, 'closed from the other node too');
  assert.ok(await connects('b', 22), 'tcp/22 unaffected');
  process.stdout.write(`# rule added → open after ${opened} ms; deleted → closed after ${closed} ms\n`);
});

test('a remote-group rule admits the members of the group only, through the IP set on compute1', { skip, timeout: 60_000 }, async () => {
  const g = openstack('security', 'group', 'show', 'g');
  openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '9090', '--remote-group', 'g', 'web');
  await within('a (in g) connects to tcp/9090', () => connects('a', 9090));
  assert.equal(await connects('b', 9090), false, 'b (not in g) does not');
  const set = `NIPv4${g.id}`.slice(0, 29);
  const saved = await neutrinoOk(['lab', 'exec', ...L, 'compute1', '--', 'ipset', 'save', set]);
  const members = saved
    .split('\n')
    .filter((l) => l.startsWith(`add ${set} `))
    .map((l) => l.split(' ')[2]);
  assert.deepEqual(members, [ip.a], `the set holds a's address only:\n${saved}`);
  const rules = await neutrinoOk(['lab', 'exec', ...L, 'compute1', '--', 'iptables-save', '-t', 'filter']);
  assert.match(rules, new RegExp(`-p tcp -m tcp --dport 9090 -m set --match-set ${set} src -j RETURN`));
  // b joins g: only the set changes, and b connects too.
  openstackRaw('port', 'set', '--security-group', 'g', portOf.b!);
  await within('b connects once it is a member of g', () => connects('b', 9090));
});

test('a spoofed source address from an instance is dropped; its real address arrives', { skip, timeout: 60_000 }, async () => {
  const spoofed = '172.16.1.250';
  await neutrinoOk(['instance', 'exec', ...L, 'b', '--', 'ip', 'addr', 'add', `${spoofed}/24`, 'dev', 'eth0']);
  // tcpdump at the receiver: echo requests from either source, for a few seconds.
  const capture = neutrinoSpawn([
    'instance',
    'exec',
    ...L,
    'web',
    '--',
    'timeout',
    '6',
    'tcpdump',
    '-l',
    '-n',
    '-i',
    'eth0',
    `icmp[icmptype] == icmp-echo and (src host ${spoofed} or src host ${ip.b})`,
  ]);
  let seen = '';
  capture.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
  const done = new Promise((res) => capture.on('close', res));
  await new Promise((res) => setTimeout(res, 1000)); // tcpdump is listening
  const spoof = await exec('b', ['ping', '-c', '2', '-i', '0.3', '-W', '1', '-I', spoofed, ip.web!]);
  const real = await exec('b', ['ping', '-c', '2', '-i', '0.3', '-W', '1', ip.web!]);
  await done;
  assert.notEqual(spoof.code, 0, 'no reply to the spoofed source');
  assert.equal(real.code, 0, real.stdout + real.stderr);
  assert.match(
    seen,
    new RegExp(`IP ${ip.b!.replace(/\./g, '\\.')} > ${ip.web!.replace(/\./g, '\\.')}: ICMP echo request`),
    `the real source arrives:\n${seen}`,
  );
  assert.doesNotMatch(seen, new RegExp(spoofed.replace(/\./g, '\\.')), `the spoofed source never arrives:\n${seen}`);
});
