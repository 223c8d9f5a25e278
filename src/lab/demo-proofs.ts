// The demo's proofs, run from the external host against the floating IP, and the closing summary:
// each resource next to the kernel devices that realize it.
import { bridgeName, ROUTER_NS_PREFIX, tapName } from '../kernel/names.ts';
import { ROUTER_GW_OWNER } from '../model/neutron.ts';
import { radvdConfigPath } from '../planner/radvd.ts';
import { nodeNamespace } from './context.ts';
import { runStatus } from '../exec/run.ts';
import { DEMO, succeeds, type DemoOptions, type Res, type Scene } from './demo-scene.ts';
import type { Keys } from './demo-ssh.ts';
import type { InstanceRecord } from './instance-state.ts';
import { stateRoot, stateRootFlag } from './paths.ts';
import { table } from './status.ts';
import { LabError } from './topology.ts';
import { waitFor } from './util.ts';

/** One way to reach the instance from the external host: the address to try and what its `ip addr` must show. */
interface Target {
  address: string;
  /** ping's family option, for IPv6 */
  family: string[];
  /** the instance's own address, as `ip addr` prints it (inet or inet6) */
  shows: string;
  shown: string;
}

/**
 * Ping and an SSH login reach the instance through its floating IP, and, routed without NAT, at its
 * global IPv6 address; a port the group does not allow stays closed on both.
 */
export async function proveFromExternalHost(s: Scene, keys: Keys, ip6: string): Promise<void> {
  await proveTarget(s, keys, { address: DEMO.floatingIp, family: [], shows: `inet ${DEMO.instance.ip}/`, shown: DEMO.instance.ip });
  await proveTarget(s, keys, { address: ip6, family: ['-6'], shows: `inet6 ${ip6}/64`, shown: ip6 });
}

async function proveTarget(s: Scene, keys: Keys, t: Target): Promise<void> {
  const { step, o, ext } = s;
  const ping = ['ping', ...t.family];
  await step(
    `proof: ${[...ping, '-c', '3', t.address].join(' ')} from ${ext}`,
    async () => {
      await waitFor(succeeds([...ping, '-c', '1', '-W', '1', t.address], ext), {
        timeoutMs: 30_000,
        abort: o.abort,
        onTimeout: () => new LabError(`proof failed: ${t.address} does not answer ping from the external host`),
      });
      const r = await runStatus([...ping, '-c', '3', '-i', '0.2', '-W', '2', t.address], { netns: ext });
      if (r.code !== 0)
        throw new LabError(`proof failed: ping -c 3 ${t.address} from the external host: ${r.stdout.trim().split('\n').pop()}`);
      return r.stdout
        .trim()
        .split('\n')
        .filter((l) => /packets transmitted|rtt/.test(l));
    },
    (lines) => lines.join('; '),
  );
  const ssh = await step(
    `proof: ssh root@${t.address} ip addr (dbclient, key ${keys.key})`,
    async () => {
      const argv = ['env', `HOME=${keys.clientHome}`, 'dbclient', '-y', '-y', '-i', keys.key, `root@${t.address}`, 'ip', 'addr'];
      let last = '';
      const loggedIn = async () => {
        const r = await runStatus(argv, { netns: ext, timeoutMs: 15_000 });
        if (r.code === 0 && r.stdout.includes(t.shows)) return r.stdout;
        last = (r.stderr.trim().split('\n').pop() || `exit ${r.code}, no ${t.shown} in the output`).trim();
        return null;
      };
      return waitFor(loggedIn, {
        attempts: 5,
        everyMs: 500,
        onTimeout: () => new LabError(`proof failed: ssh root@${t.address} from the external host: ${last}`),
      });
    },
    () => `logged in; ip addr shows ${t.shown}`,
  );
  for (const l of ssh.split('\n').filter((x) => /inet6? /.test(x) && !/scope (host|link)/.test(x))) o.print(`      ${l.trim()}`);
  await step(
    `proof: tcp/${DEMO.blockedPort} to ${t.address} does not connect (nc -z -w 2)`,
    async () => {
      const r = await runStatus(['nc', '-z', '-w', '2', t.address, String(DEMO.blockedPort)], { netns: ext });
      if (r.code === 0)
        throw new LabError(`proof failed: tcp/${DEMO.blockedPort} to ${t.address} connected, but ${DEMO.group} does not allow it`);
    },
    () => 'blocked by the security group (the instance listens on it)',
  );
}

/** What the scenario made, for the summary. */
export interface Made {
  provider: Res;
  selfservice: Res;
  selfSubnet: Res;
  selfSubnet6: Res;
  router: Res;
  intf: { port_id: string };
  intf6: { port_id: string };
  group: Res;
  inst: InstanceRecord;
  fip: Res;
  /** the instance's SLAAC address */
  ip6: string;
}

/** The router's radvd config, where the controller's L3 agent writes it. */
export const demoRadvdConf = (s: Scene, router: Res): string => radvdConfigPath(s.ctx.paths.agentState('controller'), router.id);

/** The table of resources and the devices that realize them (the DNAT rule read from the router's namespace). */
export async function printRealization(s: Scene, m: Made): Promise<void> {
  const { o, client: c } = s;
  const { state } = s.ctx;
  const { provider, selfservice, selfSubnet, selfSubnet6, router, intf, intf6, group, inst, fip, ip6 } = m;
  const gwPort = (await c.call<{ ports: Res[] }>('GET', `/v2.0/ports?device_id=${router.id}&device_owner=${ROUTER_GW_OWNER}`)).ports[0];
  const qrouter = `${ROUTER_NS_PREFIX}${router.id}`;
  const nat = await runStatus(['ip', 'netns', 'exec', qrouter, 'iptables', '-t', 'nat', '-S']);
  const dnatLines = nat.stdout.split('\n').filter((l) => l.includes('DNAT') && l.includes(DEMO.floatingIp));
  const dnat = dnatLines.find((l) => l.includes('PREROUTING')) ?? dnatLines[0] ?? '(DNAT rule not found)';
  const controller = nodeNamespace(state, 'controller');
  const compute = nodeNamespace(state, 'compute1');
  const qr = (portId: string, subnet: string) => [
    `router interface ${subnet}`,
    portId,
    `qr-${portId.slice(0, 11)} in ${qrouter}, ${tapName(portId)} in ${bridgeName(selfservice.id)}`,
  ];
  o.print('');
  o.print('RESOURCES AND THE DEVICES THAT REALIZE THEM');
  o.print(
    table([
      ['RESOURCE', 'ID', 'REALIZED BY'],
      ['network provider (flat)', provider.id, `${bridgeName(provider.id)} + eth2 in ${controller}`],
      [
        'network selfservice (vxlan 41)',
        selfservice.id,
        `${bridgeName(selfservice.id)} + vxlan-${DEMO.selfservice.vni} in ${controller} and ${compute}`,
      ],
      ['subnet selfservice 172.16.1.0/24', selfSubnet.id, `dnsmasq in qdhcp-${selfservice.id}`],
      [`subnet selfservice-ipv6 ${DEMO.selfservice.cidr6} (slaac)`, selfSubnet6.id, `radvd in ${qrouter} (${demoRadvdConf(s, router)})`],
      ['router router', router.id, `${qrouter} on controller`],
      [
        `router gateway ${DEMO.router.gatewayIp}, ${DEMO.router.gatewayIp6}`,
        gwPort?.id ?? '-',
        gwPort ? `qg-${gwPort.id.slice(0, 11)} in ${qrouter}, ${tapName(gwPort.id)} in ${bridgeName(provider.id)}` : '-',
      ],
      qr(intf.port_id, DEMO.selfservice.gateway),
      qr(intf6.port_id, String(selfSubnet6.gateway_ip)),
      [
        `security group ${DEMO.group}`,
        group.id,
        `neutron-linuxbri-i${inst.port.id.slice(0, 10)} / -o / -s chains in iptables and ip6tables in ${compute}`,
      ],
      [
        `instance instance ${DEMO.instance.ip}, ${ip6}`,
        inst.id,
        `namespace ${inst.namespace} (eth0), ${inst.tap} in ${inst.bridge} on ${compute}`,
      ],
      [`floating IP ${DEMO.floatingIp}`, fip.id, `${dnat.trim()} (in ${qrouter})`],
      [`IPv6 (routed, no NAT)`, '-', `${DEMO.selfservice.cidr6} via ${DEMO.router.gatewayIp6} on ${s.ext} (the upstream's route)`],
    ]).trimEnd(),
  );
}

/** Commands to look around the lab, and the next thing to try. */
export function printExplore(o: DemoOptions, keys: Keys, v6: { ip6: string; radvdConf: string }): void {
  const L = `--lab ${o.lab}${stateRootFlag(stateRoot(o.stateRoot))}`;
  o.print('');
  o.print('Explore:');
  o.print(`  eval "$(neutrino lab env ${L})"   # then: openstack network list, openstack router show router, openstack floating ip list`);
  o.print(`  neutrino instance exec ${L} instance -- ip addr`);
  o.print(`  neutrino lab exec ${L} external -- env HOME=${keys.clientHome} dbclient -y -y -i ${keys.key} root@${DEMO.floatingIp}`);
  o.print(`  neutrino lab exec ${L} external -- ping -6 -c 3 ${v6.ip6}   # IPv6: routed to the instance, no NAT`);
  o.print(`  neutrino lab exec ${L} compute1 -- ip6tables -S   # the group's IPv6 rules (neutron-linuxbri-* chains)`);
  o.print(`  cat ${v6.radvdConf}   # what radvd advertises on the router's qr- device`);
  o.print(`  neutrino web ${L}   # the lab's network as a live picture: open http://127.0.0.1:8080/`);
  o.print(`  neutrino lab down ${L}`);
  o.print('Next step:');
  o.print(`  neutrino trace fip ${DEMO.floatingIp}`);
}
