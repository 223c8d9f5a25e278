// `neutrino demo` end to end as root: the whole canonical scenario in one command, with its proofs
// from the external host (ping, ssh login showing 172.16.1.3, a port the group does not allow stays
// closed), the same over IPv6 to the instance's SLAAC address (routed, no NAT); a rerun replaces the
// lab, `--down` removes it, and nothing of the lab is left behind.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino } from '../helpers/neutrino-cli.ts';
import { labPaths } from '../../src/lab/paths.ts';
import { namespaceOwner } from '../../src/agent/namespace-owner.ts';
import { namespaceMark } from '../../src/kernel/mark.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
const lab = `d${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-demo-'));
const L = ['--lab', lab, '--state-root', root];
const rootSshBefore = existsSync('/root/.ssh');

const namespacesOfLab = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`${lab}-`));

after(async () => {
  if (skip) return;
  await neutrino(['lab', 'down', ...L]); // in case a test failed half-way
  rmSync(root, { recursive: true, force: true });
});

/** The instance's SLAAC address on 2001:db8:1::/64, as the demo reports it: the EUI-64 of the port's MAC. */
function slaacAddress(out: string): string {
  const m = out.match(
    /instance's SLAAC address on 2001:db8:1::\/64 \(router advertisement from radvd\): (2001:db8:1:0:f816:3eff:fe[0-9a-f]{2}:[0-9a-f]{1,4})\/64, the port's fixed IPv6 address \(EUI-64 of fa:16:3e:([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})\)/,
  );
  assert.ok(m, "the demo reports the instance's SLAAC address");
  const [, ip6, b3, b4, b5] = m;
  assert.equal(ip6, `2001:db8:1:0:f816:3eff:fe${b3}:${b4}${b5}`.replace(/:0+([0-9a-f])/g, ':$1'), 'EUI-64 of the MAC');
  return ip6;
}

function assertIpv6Proofs(out: string) {
  assert.match(out, /subnet provider-ipv6 2001:db8:123::\/64, gateway 2001:db8:123::1, /);
  assert.match(out, /subnet selfservice-ipv6 2001:db8:1::\/64, ipv6_ra_mode and ipv6_address_mode slaac: \S+, gateway 2001:db8:1::/);
  assert.match(out, /router router \(project demo\), gateway 10\.123\.123\.102 and 2001:db8:123::102 on provider/);
  assert.match(out, /upstream route on the external host: 2001:db8:1::\/64 via 2001:db8:123::102/);
  const q = slaacAddress(out); // hex digits and colons: nothing to escape in a RegExp
  assert.match(out, new RegExp(`proof: ping -6 -c 3 ${q} from \\S+-external: 3 packets transmitted, 3 received`));
  assert.match(out, new RegExp(`proof: ssh root@${q} ip addr .*logged in; ip addr shows ${q}`));
  assert.match(out, new RegExp(`inet6 ${q}/64 scope global`));
  assert.match(out, new RegExp(`proof: tcp/8080 to ${q} does not connect`));
  assert.match(out, /radvd in qrouter-[0-9a-f-]{36} \(\S+\.radvd\.conf\)/);
  assert.match(out, /chains in iptables and ip6tables/);
  assert.match(out, /2001:db8:1::\/64 via 2001:db8:123::102 on \S+-external/);
}

function assertProofs(out: string) {
  assertIpv6Proofs(out);
  assert.match(out, /proof: ping -c 3 10\.123\.123\.104 from \S+-external: 3 packets transmitted, 3 received/);
  assert.match(out, /proof: ssh root@10\.123\.123\.104 ip addr .*logged in; ip addr shows 172\.16\.1\.3/);
  assert.match(out, /inet 172\.16\.1\.3\/24/);
  assert.match(out, /proof: tcp\/8080 to 10\.123\.123\.104 does not connect/);
  for (const dev of [
    /brq[0-9a-f]{8}-[0-9a-f]{2}/,
    /vxlan-41/,
    /tap[0-9a-f]{8}-[0-9a-f]{2}/,
    /qrouter-[0-9a-f-]{36}/,
    /qr-[0-9a-f]{8}-[0-9a-f]{2}/,
    /qg-[0-9a-f]{8}-[0-9a-f]{2}/,
  ])
    assert.match(out, dev);
  assert.match(out, /-A neutron-l3-agent-PREROUTING -d 10\.123\.123\.104\/32 -j DNAT --to-destination 172\.16\.1\.3/);
  assert.match(out, /neutrino lab env --lab /);
  assert.match(out, /neutrino instance exec .*instance -- ip addr/);
  assert.match(out, /neutrino lab down --lab /);
  assert.match(out, /^  neutrino trace fip 10\.123\.123\.104$/m);
}

test('neutrino demo: the scenario with ping and ssh through the floating IP; the lab stays up', { skip, timeout: 240_000 }, async () => {
  const r = await neutrino(['demo', ...L], 200_000);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assertProofs(r.stdout);
  assert.ok(namespacesOfLab().includes(`${lab}-i-instance`), 'the lab stays up for exploring');
  // The SSH server's PID is recorded in the instance dir, and it is dropbear's wrapper.
  const instances = join(root, 'labs', lab, 'instances');
  const [id] = readdirSync(instances);
  const pid = Number(readFileSync(join(instances, id, 'sshd.pid'), 'utf8'));
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /demo-sshd/);
  const ls = await neutrino(['instance', 'exec', ...L, 'instance', '--', 'ip', 'addr'], 20_000);
  assert.match(ls.stdout, /inet 172\.16\.1\.3\//);
  // DHCPv4 left IPv6 alone: the link-local address the router solicitation went from is still there.
  assert.match(ls.stdout, new RegExp(`inet6 ${slaacAddress(r.stdout)}/64 `));
  assert.match(ls.stdout, /inet6 fe80::f816:3eff:fe[0-9a-f:]+\/64 scope link/);
  // The external host's own addresses and the route an upstream router has, in its namespace only.
  const ext = await neutrino(['lab', 'exec', ...L, 'external', '--', 'ip', '-6', 'route', 'show', '2001:db8:1::/64'], 20_000);
  assert.match(ext.stdout, /2001:db8:1::\/64 via 2001:db8:123::102 dev eth0/);
});

test('neutrino demo --down: a rerun replaces the lab, proves it again and leaves nothing behind', { skip, timeout: 240_000 }, async () => {
  // The lab's agents mark the namespaces they create (agent/pass.ts); other labs on this machine
  // (tests running alongside) create and remove their own, which are not this test's business.
  const paths = labPaths(root, lab);
  const nodes = readdirSync(paths.nodesDir);
  const marks = new Set(nodes.map((host) => namespaceMark(namespaceOwner({ host, statePath: paths.agentState(host) }))));
  const ofThisLab = () =>
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((ns) => ns.startsWith('qrouter-') || ns.startsWith('qdhcp-'))
      .filter((ns) => {
        try {
          const lo = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'lo'], { encoding: 'utf8' })) as Array<{
            ifalias?: string;
          }>;
          return marks.has(lo[0]?.ifalias ?? '');
        } catch {
          return false; // gone meanwhile
        }
      });
  assert.ok(ofThisLab().length > 0, 'the lab up before --down has marked agent namespaces');
  const r = await neutrino(['demo', ...L, '--down'], 200_000);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /previous lab \S+ removed \(a rerun replaces it\)/);
  assertProofs(r.stdout);
  assert.match(r.stdout, /--down: removing the lab/);
  assert.deepEqual(namespacesOfLab(), [], 'no namespace of the lab is left');
  const created: string[] = r.stdout.match(/qrouter-[0-9a-f-]{36}/g) ?? [];
  assert.ok(created.length > 0, 'the demo names its router namespace');
  const names = new Set(
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]),
  );
  for (const ns of created) assert.ok(!names.has(ns), `namespace left: ${ns}`);
  assert.deepEqual(ofThisLab(), [], 'no agent namespace of the lab is left');
  assert.ok(!existsSync(join(root, 'labs', lab)), 'the lab dir is removed');
  const procs = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.ok(!procs.includes(join(root, 'labs', lab)), 'no process of the lab is left');
  assert.equal(existsSync('/root/.ssh'), rootSshBefore, 'the host /root is untouched');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]);
  assert.ok(!mounts.includes('/root'), 'nothing is bind-mounted over the host /root');
});
