// The demo's proofs, run from the external host against the floating IP, and the closing summary:
// each resource next to the kernel devices that realize it.
import { bridgeName, ROUTER_NS_PREFIX, tapName } from '../kernel/names.js';
import { ROUTER_GW_OWNER } from '../model/neutron.js';
import { nodeNamespace } from './context.js';
import { runStatus } from '../exec/run.js';
import { DEMO, succeeds, type DemoOptions, type Res, type Scene } from './demo-scene.js';
import type { Keys } from './demo-ssh.js';
import type { InstanceRecord } from './instance-state.js';
import { stateRoot, stateRootFlag } from './paths.js';
import { table } from './status.js';
import { LabError } from './topology.js';
import { waitFor } from './util.js';

/** Ping and an SSH login reach the instance through its floating IP; a port the group does not allow stays closed. */
export async function proveFromExternalHost(s: Scene, keys: Keys): Promise<void> {
  const { step, o, ext } = s;
  await step(
    `proof: ping -c 3 ${DEMO.floatingIp} from ${ext}`,
    async () => {
      await waitFor(succeeds(['ping', '-c', '1', '-W', '1', DEMO.floatingIp], ext), {
        timeoutMs: 30_000,
        abort: o.abort,
        onTimeout: () => new LabError(`proof failed: ${DEMO.floatingIp} does not answer ping from the external host`),
      });
      const r = await runStatus(['ping', '-c', '3', '-i', '0.2', '-W', '2', DEMO.floatingIp], { netns: ext });
      if (r.code !== 0)
        throw new LabError(`proof failed: ping -c 3 ${DEMO.floatingIp} from the external host: ${r.stdout.trim().split('\n').pop()}`);
      return r.stdout
        .trim()
        .split('\n')
        .filter((l) => /packets transmitted|rtt/.test(l));
    },
    (lines) => lines.join('; '),
  );
  const ssh = await step(
    `proof: ssh root@${DEMO.floatingIp} ip addr (dbclient, key ${keys.key})`,
    async () => {
      const argv = ['env', `HOME=${keys.clientHome}`, 'dbclient', '-y', '-y', '-i', keys.key, `root@${DEMO.floatingIp}`, 'ip', 'addr'];
      let last = '';
      const loggedIn = async () => {
        const r = await runStatus(argv, { netns: ext, timeoutMs: 15_000 });
        if (r.code === 0 && r.stdout.includes(`inet ${DEMO.instance.ip}/`)) return r.stdout;
        last = (r.stderr.trim().split('\n').pop() || `exit ${r.code}, no ${DEMO.instance.ip} in the output`).trim();
        return null;
      };
      return waitFor(loggedIn, {
        attempts: 5,
        everyMs: 500,
        onTimeout: () => new LabError(`proof failed: ssh root@${DEMO.floatingIp} from the external host: ${last}`),
      });
    },
    () => `logged in; ip addr shows ${DEMO.instance.ip}`,
  );
  for (const l of ssh.split('\n').filter((x) => /inet /.test(x))) o.print(`      ${l.trim()}`);
  await step(
    `proof: tcp/${DEMO.blockedPort} to ${DEMO.floatingIp} does not connect (nc -z -w 2)`,
    async () => {
      const r = await runStatus(['nc', '-z', '-w', '2', DEMO.floatingIp, String(DEMO.blockedPort)], { netns: ext });
      if (r.code === 0)
        throw new LabError(`proof failed: tcp/${DEMO.blockedPort} to ${DEMO.floatingIp} connected, but ${DEMO.group} does not allow it`);
    },
    () => 'blocked by the security group (the instance listens on it)',
  );
}

/** What the scenario made, for the summary. */
export interface Made {
  provider: Res;
  selfservice: Res;
  selfSubnet: Res;
  router: Res;
  intf: { port_id: string };
  group: Res;
  inst: InstanceRecord;
  fip: Res;
}

/** The table of resources and the devices that realize them (the DNAT rule read from the router's namespace). */
export async function printRealization(s: Scene, m: Made): Promise<void> {
  const { o, client: c } = s;
  const { state } = s.ctx;
  const { provider, selfservice, selfSubnet, router, intf, group, inst, fip } = m;
  const gwPort = (await c.call<{ ports: Res[] }>('GET', `/v2.0/ports?device_id=${router.id}&device_owner=${ROUTER_GW_OWNER}`)).ports[0];
  const qrouter = `${ROUTER_NS_PREFIX}${router.id}`;
  const nat = await runStatus(['ip', 'netns', 'exec', qrouter, 'iptables', '-t', 'nat', '-S']);
  const dnatLines = nat.stdout.split('\n').filter((l) => l.includes('DNAT') && l.includes(DEMO.floatingIp));
  const dnat = dnatLines.find((l) => l.includes('PREROUTING')) ?? dnatLines[0] ?? '(DNAT rule not found)';
  const controller = nodeNamespace(state, 'controller');
  const compute = nodeNamespace(state, 'compute1');
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
      ['router router', router.id, `${qrouter} on controller`],
      [
        `router gateway ${DEMO.router.gatewayIp}`,
        gwPort?.id ?? '-',
        gwPort ? `qg-${gwPort.id.slice(0, 11)} in ${qrouter}, ${tapName(gwPort.id)} in ${bridgeName(provider.id)}` : '-',
      ],
      [
        `router interface ${DEMO.selfservice.gateway}`,
        intf.port_id,
        `qr-${intf.port_id.slice(0, 11)} in ${qrouter}, ${tapName(intf.port_id)} in ${bridgeName(selfservice.id)}`,
      ],
      [`security group ${DEMO.group}`, group.id, `neutron-linuxbri-i${inst.port.id.slice(0, 10)} / -o / -s chains in ${compute}`],
      [`instance instance ${DEMO.instance.ip}`, inst.id, `namespace ${inst.namespace} (eth0), ${inst.tap} in ${inst.bridge} on ${compute}`],
      [`floating IP ${DEMO.floatingIp}`, fip.id, `${dnat.trim()} (in ${qrouter})`],
    ]).trimEnd(),
  );
}

/** Commands to look around the lab, and the next thing to try. */
export function printExplore(o: DemoOptions, keys: Keys): void {
  const L = `--lab ${o.lab}${stateRootFlag(stateRoot(o.stateRoot))}`;
  o.print('');
  o.print('Explore:');
  o.print(`  eval "$(neutrino lab env ${L})"   # then: openstack network list, openstack router show router, openstack floating ip list`);
  o.print(`  neutrino instance exec ${L} instance -- ip addr`);
  o.print(`  neutrino lab exec ${L} external -- env HOME=${keys.clientHome} dbclient -y -y -i ${keys.key} root@${DEMO.floatingIp}`);
  o.print(`  neutrino lab down ${L}`);
  o.print('Next step:');
  o.print(`  neutrino trace fip ${DEMO.floatingIp}`);
}
