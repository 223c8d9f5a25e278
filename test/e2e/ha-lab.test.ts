// HA routers end to end as root, with real traffic: a lab with two network nodes (controller and
// network2, both with the L3 role and keepalived), compute1 with instance `vm`, an HA router made with
// the `openstack` CLI (`router create --ha`) between the provider network and a self-service network,
// and a floating IP the external host pings. keepalived's config is Neutron's on both nodes, one node
// is active (it alone holds the floating IP) and GET /routers/{id}/l3-agents says which. The active
// node's agent (SIGKILL) and keepalived (SIGTERM) are ended by PID: the standby takes over within the
// bound, the router's ports move to it, and the killed node's agent started again rejoins as standby
// (keepalived's nopreempt) without a lost reply. The tracer walks through the primary and names
// keepalived stopped there by PID (HA_KEEPALIVED_NOT_RUNNING), healthy again once the agent starts it.
// IPv6: selfservice also has a SLAAC subnet: radvd runs on the primary only, the instance reaches the
// external host over IPv6 through it, and after a failover through the new primary, whose
// advertisements alone give the instance its address and default route back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { createLabProvider, eventually, labAdminEnv, labNodes } from '../helpers/lab.ts';
import type { InstanceJson } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `ha${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-ha-lab-'));
const L = ['--lab', lab, '--state-root', root];
const FIP = '10.123.123.120';
const EXTERNAL_V6 = '2001:db8:ff::1';
const PREFIX_V6 = '2001:db8:1::/64';
const GATEWAY_V6 = '2001:db8:ff::2';
/** ping's interval in the failover measurements (seconds). */
const INTERVAL = 0.1;
/** Neutron's ha_vrrp_advert_int is 2 s; keepalived stopping hands over at once (priority 0), so the gap is the handover and GARP. */
const MAX_GAP_S = 3;

let env: NodeJS.ProcessEnv;
let routerId = '';

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
const stateDir = (node: string) => join(root, 'labs', lab, 'nodes', node, 'state');
const agentPid = (node: string) => labNodes(root, lab).find((n) => n.name === node)!.agentPid!;
/** `ip` in a node's view of /run/netns: network2's agent has one of its own (its mount namespace). */
const nodeIp = (node: string, args: string[]) =>
  execFileSync(
    node === 'controller' ? 'ip' : 'nsenter',
    node === 'controller' ? args : [`--mount=/proc/${agentPid(node)}/ns/mnt`, 'ip', ...args],
    {
      encoding: 'utf8',
    },
  );
const haStates = async () =>
  Object.fromEntries(
    (openstack('network', 'agent', 'list', '--router', routerId, '--long') as Array<Record<string, string>>).map((a) => [
      a.Host,
      a['HA State'],
    ]),
  );
const activeNode = async () => {
  const s = await haStates();
  const active = Object.keys(s).filter((h) => s[h] === 'active');
  return active.length === 1 && Object.keys(s).length === 2 ? active[0] : undefined;
};

/** Pings the floating IP from the external host `count` times while `during` runs; the longest run of lost replies, in seconds. */
async function pingGap(count: number, during: () => Promise<void>): Promise<{ gapS: number; replies: number }> {
  const ping = neutrino(
    ['lab', 'exec', ...L, 'external', '--', 'ping', '-n', '-i', String(INTERVAL), '-W', '1', '-c', String(count), FIP],
    120_000,
  );
  await new Promise((r) => setTimeout(r, 1500));
  await during();
  const out = (await ping).stdout;
  const seqs = [...new Set([...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  let longest = seqs.length ? seqs[0] - 1 : count;
  for (let i = 1; i < seqs.length; i++) longest = Math.max(longest, seqs[i] - seqs[i - 1] - 1);
  longest = Math.max(longest, count - (seqs.at(-1) ?? 0));
  return { gapS: Number((longest * INTERVAL).toFixed(1)), replies: seqs.length };
}

before(async () => {
  if (skip) return;
  await neutrinoOk(['lab', 'up', ...L, '--nodes', 'controller,compute1', '--network-nodes', '2'], 240_000);
  env = await labAdminEnv(L);
  createLabProvider(openstack);
  openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  // IPv6: SLAAC on selfservice (radvd of the primary advertises it), the external host on the provider's IPv6 subnet.
  openstack(
    ...['subnet', 'create', '--network', 'provider', '--ip-version', '6', '--subnet-range', '2001:db8:ff::/64'],
    ...['--gateway', EXTERNAL_V6, '--allocation-pool', 'start=2001:db8:ff::100,end=2001:db8:ff::1ff', '--no-dhcp', 'provider-v6'],
  );
  openstack(
    ...['subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--ip-version', '6'],
    ...['--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'slaac', '--subnet-range', PREFIX_V6, 'selfservice-v6'],
  );
  const router = openstack('router', 'create', '--project', 'demo', '--ha', 'router');
  assert.equal(router.ha, true);
  routerId = router.id;
  // The gateway's address is chosen: a random one could be the floating IP's.
  // IPv6 too, outside the pool, named as the IPv4 one is.
  openstackRaw(
    ...['router', 'set', '--external-gateway', 'provider', '--fixed-ip', 'subnet=provider,ip-address=10.123.123.102'],
    ...['--fixed-ip', `subnet=provider-v6,ip-address=${GATEWAY_V6}`, 'router'],
  );
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice-v6');
  const groups = openstack('security', 'group', 'list', '--project', 'demo') as Array<{ ID: string; Name: string }>;
  openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', groups.find((g) => g.Name === 'default')!.ID);
  await neutrinoOk(['instance', 'create', ...L, 'vm', '--network', 'selfservice', '--host', 'compute1'], 90_000);
  const vm = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm')!;
  openstack('floating', 'ip', 'create', '--project', 'demo', '--floating-ip-address', FIP, '--port', vm.port_id, 'provider');
});

after(async () => {
  if (skip) return;
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  rmSync(root, { recursive: true, force: true });
});

test(
  'an HA router on two network nodes: keepalived, one active node, failover and rejoin by the floating IP',
  { skip, timeout: 420_000 },
  async (t) => {
    const pingOnce = async () => (await neutrino(['lab', 'exec', ...L, 'external', '--', 'ping', '-c', '1', '-W', '1', FIP])).code === 0;
    await eventually('the external host reaches the floating IP', pingOnce, 60_000);
    const first = await eventually('one node active, the other standby', activeNode, 30_000);
    const standby = first === 'controller' ? 'network2' : 'controller';

    // Neutron's keepalived config, the same on both nodes; only the active one holds the addresses.
    const conf = (node: string) => readFileSync(join(stateDir(node), 'ha_confs', routerId, 'keepalived.conf'), 'utf8');
    // Each node has its own ha- port; the rest is the same.
    const sameAsOther = (text: string) => text.replace(/ha-[0-9a-f-]+/g, 'ha-…');
    assert.equal(sameAsOther(conf('controller')), sameAsOther(conf('network2')));
    const c = conf(first);
    assert.match(
      c,
      /^vrrp_instance VR_(\d+) \{\n {4}state BACKUP\n {4}interface ha-\S+\n {4}virtual_router_id \1\n {4}priority 50\n {4}garp_master_delay 60\n {4}nopreempt\n {4}advert_int 2\n/m,
    );
    assert.match(c, /virtual_ipaddress \{\n {8}169\.254\.0\.\d+\/24 dev ha-\S+\n {4}\}/);
    assert.match(c, new RegExp(`^ {8}${FIP.replace(/\./g, '\\.')}/32 dev qg-\\S+ no_track$`, 'm'));
    assert.match(c, /^ {8}172\.16\.1\.1\/24 dev qr-\S+ no_track$/m);
    assert.match(c, /^ {8}0\.0\.0\.0\/0 via 10\.123\.123\.1 dev qg-\S+ no_track protocol static$/m);
    const addrs = (node: string) => nodeIp(node, ['-n', `qrouter-${routerId}`, '-o', '-4', 'addr', 'show']);
    assert.match(addrs(first), new RegExp(`qg-\\S+\\s+inet ${FIP.replace(/\./g, '\\.')}/32`));
    assert.doesNotMatch(addrs(standby), new RegExp(FIP.replace(/\./g, '\\.')));
    assert.match(addrs(standby), /ha-\S+\s+inet 169\.254\.19[2-9]|ha-\S+\s+inet 169\.254\.2\d\d/, 'the standby has its HA port address');

    // Failover: the active node's agent and keepalived ended by PID.
    const keepalivedPid = Number(readFileSync(join(stateDir(first), 'ha_confs', `${routerId}.pid`), 'utf8').trim());
    assert.match(readFileSync(`/proc/${keepalivedPid}/cmdline`, 'utf8'), new RegExp(`keepalived.*${stateDir(first)}`));
    const failover = await pingGap(100, async () => {
      process.kill(agentPid(first), 'SIGKILL');
      process.kill(keepalivedPid, 'SIGTERM');
    });
    t.diagnostic(`failover ${first} → ${standby}: longest gap ${failover.gapS} s, ${failover.replies}/100 replies`);
    assert.ok(failover.gapS <= MAX_GAP_S, `replies stopped for ${failover.gapS} s`);
    await eventually(`${standby} reported active`, async () => (await haStates())[standby] === 'active', 30_000);
    // An HA router's interfaces are Neutron's replicated ones.
    const intf = openstack(
      'port',
      'list',
      '--router',
      routerId,
      '--device-owner',
      'network:ha_router_replicated_interface',
      '--long',
    ) as Array<{
      ID: string;
    }>;
    await eventually(
      'the router interface bound to the new active node',
      async () => openstack('port', 'show', intf[0].ID)['binding_host_id'] === standby,
    );

    // Rejoin: the killed node's agent starts again; its keepalived comes up BACKUP (nopreempt) and takes nothing over.
    const rejoin = await pingGap(100, async () => {
      await neutrinoOk(['lab', 'restart-agent', ...L, first], 60_000);
    });
    t.diagnostic(`rejoin of ${first}: longest gap ${rejoin.gapS} s, ${rejoin.replies}/100 replies`);
    // The standby's qg- has the active node's MAC: one frame from it (an MLD report of IPv6
    // forwarding's groups) would make the provider switch deliver the floating IP's traffic there.
    assert.equal(rejoin.gapS, 0, `replies stopped for ${rejoin.gapS} s while ${first} rejoined`);
    await eventually(
      `${first} standby, ${standby} still active`,
      async () => {
        const s = await haStates();
        return s[first] === 'standby' && s[standby] === 'active';
      },
      30_000,
    );
  },
);

test(
  'the tracer follows the HA router through its primary and names keepalived stopped there by PID',
  { skip, timeout: 300_000 },
  async (t) => {
    type Report = {
      ok: boolean;
      target: { router?: { host: string | null } };
      hops: Array<{ node: string; check: string; observed: Record<string, unknown> | null }>;
      firstBroken: { node: string; reason: string; cause: string } | null;
    };
    const trace = async (): Promise<Report> => {
      const r = await neutrino(['trace', 'fip', FIP, ...L, '--json'], 90_000);
      assert.ok(r.code === 0 || r.code === 1 || r.code === 3, r.stderr);
      return JSON.parse(r.stdout) as Report;
    };
    const primary = await eventually('one node active', activeNode, 30_000);
    const standby = primary === 'controller' ? 'network2' : 'controller';
    const healthy = await eventually(
      `a healthy trace through ${primary}`,
      async () => {
        const r = await trace();
        return r.ok && r.target.router?.host === primary ? r : undefined;
      },
      60_000,
    );
    const keepalived = healthy.hops.filter((h) => h.check === 'keepalived');
    assert.deepEqual(keepalived.map((h) => h.node).sort(), ['controller', 'network2']);
    assert.equal(keepalived.find((h) => h.node === primary)!.observed!['vrrp'], 'primary');
    assert.equal(keepalived.find((h) => h.node === primary)!.observed!['state_file'], 'primary');
    assert.equal(keepalived.find((h) => h.node === standby)!.observed!['vrrp'], 'backup');

    // keepalived of the primary, by the PID in its own pid file under the node's state dir; the node's
    // agent paused meanwhile, so that its next pass does not restart keepalived before the trace.
    const pid = Number(readFileSync(join(stateDir(primary), 'ha_confs', `${routerId}.pid`), 'utf8').trim());
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), new RegExp(`keepalived.*${stateDir(primary)}`));
    const agent = agentPid(primary);
    process.kill(agent, 'SIGSTOP');
    try {
      process.kill(pid, 'SIGTERM');
      // Both come in their own time: the tracer sees keepalived gone at once, the path moves once
      // the standby's agent has seen the VIP arrive and reported it (it looks every half second).
      let last: Report | undefined;
      const broken = await eventually(
        `the tracer names keepalived not running on ${primary}, and the path goes through ${standby}, primary now`,
        async () => {
          const r = (last = await trace());
          return r.firstBroken?.reason === 'HA_KEEPALIVED_NOT_RUNNING' &&
            r.firstBroken.node === primary &&
            r.target.router?.host === standby
            ? r
            : undefined;
        },
        60_000,
      ).catch((e: unknown) => {
        t.diagnostic(`last trace: through ${last?.target.router?.host}, first broken ${JSON.stringify(last?.firstBroken)}`);
        throw e;
      });
      t.diagnostic(broken.firstBroken!.cause);
    } finally {
      process.kill(agent, 'SIGCONT');
    }
    // The agent starts keepalived again (BACKUP, nopreempt): healthy, through the new primary. The
    // former primary's qr- devices must form no SLAAC address from the new primary's advertisements
    // (their MACs are the primary's): a standby's qr- accepts none (accept_ra 0), as Neutron's
    // _disable_ipv6_addressing_on_interface sets on a node that is not primary.
    await t.test('a healthy trace again, keepalived back on both nodes', async (st) => {
      let last: Report | undefined;
      try {
        await eventually(
          'a healthy trace again, keepalived back on both nodes',
          async () => {
            last = await trace();
            return last.ok && last.target.router?.host === standby ? last : undefined;
          },
          90_000,
        );
      } catch (e) {
        st.diagnostic(`last trace: through ${last?.target.router?.host}, first broken ${JSON.stringify(last?.firstBroken)}`);
        throw e;
      }
    });
  },
);

test(
  'IPv6 on the HA router: radvd on the primary only, the SLAAC instance reaches the external host through it, and after failover through the new primary',
  { skip, timeout: 300_000 },
  async () => {
    const ping6 = async (dst: string) =>
      (await neutrino(['instance', 'exec', ...L, 'vm', '--', 'ping', '-6', '-c', '1', '-W', '1', dst], 30_000)).code === 0;
    /** radvd running for the router with its configuration under `node`'s state dir. */
    const radvdOn = (node: string) =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .some((p) => {
          try {
            const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
            return /(^|\/)radvd$/.test(argv[0]!) && argv.some((a) => a.startsWith(`${stateDir(node)}/`) && a.includes(routerId));
          } catch {
            return false;
          }
        });
    const primary = await eventually('one node active', activeNode, 30_000);
    const standby = primary === 'controller' ? 'network2' : 'controller';
    await eventually(`radvd on ${primary}`, async () => radvdOn(primary), 30_000);
    assert.equal(radvdOn(standby), false, `no radvd on ${standby}, the standby`);

    const vm = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm')!;
    const v6Of = (portId: string, prefix: string) =>
      (openstack('port', 'show', portId)['fixed_ips'] as Array<{ ip_address: string }>)
        .map((f) => f.ip_address)
        .find((a) => a.startsWith(prefix));
    const vmV6 = v6Of(vm.port_id, '2001:db8:1:');
    assert.ok(vmV6, "vm's port has a SLAAC address");
    const external = `${lab}-external`;
    execFileSync('ip', ['-n', external, '-6', 'addr', 'replace', `${EXTERNAL_V6}/64`, 'dev', 'eth0', 'nodad']);
    execFileSync('ip', ['-n', external, '-6', 'route', 'replace', PREFIX_V6, 'via', GATEWAY_V6]);
    await eventually(
      'vm holds its SLAAC address',
      async () =>
        (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[])
          .find((i) => i.name === 'vm')!
          .addresses.includes(vmV6!),
      60_000,
    );
    await eventually(`vm pings the external host over IPv6 through ${primary}`, () => ping6(EXTERNAL_V6), 60_000);

    // Failover: keepalived of the primary stopped by PID (its agent starts it again, as BACKUP).
    const pid = Number(readFileSync(join(stateDir(primary), 'ha_confs', `${routerId}.pid`), 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    await eventually(`${standby} reported active`, async () => (await haStates())[standby] === 'active', 60_000);
    await eventually(`radvd on ${standby}, the new primary`, async () => radvdOn(standby), 30_000);
    await eventually(`no radvd on ${primary} any more`, async () => !radvdOn(primary), 30_000);
    // The instance's link goes down and up: its addresses and default route come back only from a
    // router advertisement answering its solicitation, which the new primary alone sends.
    await neutrinoOk(['instance', 'exec', ...L, 'vm', '--', 'ip', 'link', 'set', 'eth0', 'down']);
    await neutrinoOk(['instance', 'exec', ...L, 'vm', '--', 'ip', 'link', 'set', 'eth0', 'up']);
    await eventually(`vm pings the external host over IPv6 through ${standby}`, () => ping6(EXTERNAL_V6), 60_000);
    const routes = await neutrinoOk(['instance', 'exec', ...L, 'vm', '--', 'ip', '-6', 'route', 'show', 'default']);
    assert.match(routes, /default via fe80::\S+ dev eth0 proto ra/, 'the default route from the advertisement');
  },
);
