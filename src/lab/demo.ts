// `neutrino demo`: the canonical scenario in one command. Brings up a lab (replacing one of the same
// name), creates the provider and self-service networks, the router, a security group, the instance
// with an SSH server and its floating IP through the API, then proves it from the external host
// (ping, ssh login showing 172.16.1.3, a port the group does not allow stays closed). Dual-stack: the
// same proofs over IPv6 reach the instance's SLAAC address directly, routed, without NAT.
import { existsSync } from 'node:fs';
import { loadLab, type LabContext } from './context.ts';
import { createInstance } from './instance.ts';
import { labDown } from './down.ts';
import { listNamespaces } from './netns.ts';
import { labPaths, stateRoot, stateRootFlag } from './paths.ts';
import { DEMO, openScene, stepper, type DemoOptions, type Res, type Scene, type Step } from './demo-scene.ts';
import { demoRadvdConf, printExplore, printRealization, proveFromExternalHost } from './demo-proofs.ts';
import { demoKeys, startInstanceServers, type Keys } from './demo-ssh.ts';
import { routeTenantPrefixUpstream, waitForSlaacAddress } from './demo-ipv6.ts';
import type { InstanceRecord } from './instance-state.ts';
import { LabError } from './topology.ts';
import { IPV6_SLAAC } from '../model/neutron.ts';
import { labUp } from './up.ts';

export { DEMO, type DemoOptions } from './demo-scene.ts';

function labExists(lab: string, root: string): boolean {
  return existsSync(labPaths(root, lab).dir) || listNamespaces().some((ns) => ns.startsWith(`${lab}-`));
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const root = stateRoot(o.stateRoot);
  const t0 = Date.now();
  const step = stepper(o.print, o.abort);
  const sub = (l: string) => o.print(`    ${l}`);
  if (labExists(o.lab, root))
    await step(`previous lab ${o.lab} removed (a rerun replaces it)`, () => labDown({ lab: o.lab, stateRoot: o.stateRoot, print: sub }));
  await step(`lab ${o.lab} up: controller, compute1, external host`, () =>
    labUp({ lab: o.lab, nodes: ['controller', 'compute1'], stateRoot: o.stateRoot, agents: true, print: sub, abort: o.abort }),
  );
  let ok = false;
  try {
    await scenario(loadLab({ lab: o.lab, stateRoot: o.stateRoot }), o, step);
    ok = true;
  } finally {
    if (o.down) {
      o.print(ok ? '--down: removing the lab' : 'demo failed; --down: removing the lab');
      await labDown({ lab: o.lab, stateRoot: o.stateRoot, print: sub });
    } else if (!ok) {
      o.print(`demo failed; the lab stays up for inspection (neutrino lab down --lab ${o.lab}${stateRootFlag(root)})`);
    }
  }
  o.print(`demo done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** The scenario, step by step: the resources through the API, the instance and its servers, the proofs, the summary. */
async function scenario(ctx: LabContext, o: DemoOptions, step: Step): Promise<void> {
  const s = await openScene(ctx, o, step);
  const nets = await createNetworks(s);
  const routing = await createRouter(s, nets);
  const group = await createSecurityGroup(s);
  const keys = await demoKeys(s);
  const inst = await bootInstance(s, nets, group, keys);
  const ip6 = await waitForSlaacAddress(s, inst, nets.selfSubnet6);
  await startInstanceServers(s, inst, ip6, keys);
  const fip = await associateFloatingIp(s, nets, inst);
  await proveFromExternalHost(s, keys, ip6);
  await printRealization(s, { ...nets, ...routing, group, inst, fip, ip6 });
  printExplore(o, keys, { ip6, radvdConf: demoRadvdConf(s, routing.router) });
}

interface Networks {
  provider: Res;
  providerSubnet: Res;
  providerSubnet6: Res;
  selfservice: Res;
  selfSubnet: Res;
  selfSubnet6: Res;
}

/** The provider network (external, flat) and the demo project's self-service network (vxlan), each with an IPv4 and an IPv6 subnet. */
async function createNetworks(s: Scene): Promise<Networks> {
  return { ...(await createProviderNetwork(s)), ...(await createSelfServiceNetwork(s)) };
}

async function createProviderNetwork(s: Scene): Promise<Pick<Networks, 'provider' | 'providerSubnet' | 'providerSubnet6'>> {
  const { step } = s;
  const provider = await step(
    'network provider (flat, physnet provider, router:external)',
    () =>
      s.post('/v2.0/networks', 'network', {
        name: 'provider',
        'router:external': true,
        shared: false,
        'provider:network_type': 'flat',
        'provider:physical_network': 'provider',
      }),
    (n) => n.id,
  );
  const providerSubnet = await step(
    `subnet provider ${DEMO.provider.cidr}, gateway ${DEMO.provider.gateway}, pool ${DEMO.provider.pool.start}-${DEMO.provider.pool.end}`,
    () =>
      s.post('/v2.0/subnets', 'subnet', {
        name: 'provider',
        network_id: provider.id,
        ip_version: 4,
        cidr: DEMO.provider.cidr,
        gateway_ip: DEMO.provider.gateway,
        allocation_pools: [DEMO.provider.pool],
        enable_dhcp: false,
      }),
    (subnet) => subnet.id,
  );
  // Addresses on it are configured statically (the router's gateway, the upstream host): no RA or address mode, no DHCP.
  const providerSubnet6 = await step(
    `subnet provider-ipv6 ${DEMO.provider.cidr6}, gateway ${DEMO.provider.gateway6}, pool ${DEMO.provider.pool6.start}-${DEMO.provider.pool6.end}`,
    () =>
      s.post('/v2.0/subnets', 'subnet', {
        name: 'provider-ipv6',
        network_id: provider.id,
        ip_version: 6,
        cidr: DEMO.provider.cidr6,
        gateway_ip: DEMO.provider.gateway6,
        allocation_pools: [DEMO.provider.pool6],
        enable_dhcp: false,
      }),
    (subnet) => subnet.id,
  );
  return { provider, providerSubnet, providerSubnet6 };
}

async function createSelfServiceNetwork(s: Scene): Promise<Pick<Networks, 'selfservice' | 'selfSubnet' | 'selfSubnet6'>> {
  const { step } = s;
  const selfservice = await step(
    `network selfservice (vxlan, VNI ${DEMO.selfservice.vni}, project demo)`,
    () =>
      s.post('/v2.0/networks', 'network', {
        name: 'selfservice',
        project_id: s.project,
        'provider:network_type': 'vxlan',
        'provider:segmentation_id': DEMO.selfservice.vni,
      }),
    (n) => n.id,
  );
  const selfSubnet = await step(
    `subnet selfservice ${DEMO.selfservice.cidr}, gateway ${DEMO.selfservice.gateway}`,
    () =>
      s.post('/v2.0/subnets', 'subnet', {
        name: 'selfservice',
        network_id: selfservice.id,
        project_id: s.project,
        ip_version: 4,
        cidr: DEMO.selfservice.cidr,
        gateway_ip: DEMO.selfservice.gateway,
      }),
    (subnet) => subnet.id,
  );
  // SLAAC: the router's radvd advertises the prefix and the instance makes its EUI-64 address, the one
  // the API gave its port. The gateway is Neutron's default (the prefix address), the router interface's.
  const selfSubnet6 = await step(
    `subnet selfservice-ipv6 ${DEMO.selfservice.cidr6}, ipv6_ra_mode and ipv6_address_mode slaac`,
    () =>
      s.post('/v2.0/subnets', 'subnet', {
        name: 'selfservice-ipv6',
        network_id: selfservice.id,
        project_id: s.project,
        ip_version: 6,
        cidr: DEMO.selfservice.cidr6,
        ipv6_ra_mode: IPV6_SLAAC,
        ipv6_address_mode: IPV6_SLAAC,
      }),
    (subnet) => `${subnet.id}, gateway ${String(subnet.gateway_ip)}`,
  );
  return { selfservice, selfSubnet, selfSubnet6 };
}

/**
 * The demo project's router: its gateway on the provider network (both families), an interface on each
 * self-service subnet; upstream, the external host routes the tenant IPv6 prefix to the gateway.
 */
async function createRouter(s: Scene, nets: Networks): Promise<{ router: Res; intf: { port_id: string }; intf6: { port_id: string } }> {
  const { step } = s;
  const { provider, providerSubnet, providerSubnet6, selfSubnet, selfSubnet6 } = nets;
  const router = await step(
    `router router (project demo), gateway ${DEMO.router.gatewayIp} and ${DEMO.router.gatewayIp6} on provider`,
    () =>
      s.post('/v2.0/routers', 'router', {
        name: 'router',
        project_id: s.project,
        external_gateway_info: {
          network_id: provider.id,
          external_fixed_ips: [
            { subnet_id: providerSubnet.id, ip_address: DEMO.router.gatewayIp },
            { subnet_id: providerSubnet6.id, ip_address: DEMO.router.gatewayIp6 },
          ],
        },
      }),
    (r) => r.id,
  );
  const intf = await step(
    `router interface ${DEMO.selfservice.gateway} on selfservice`,
    () => s.client.call<{ port_id: string }>('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id }),
    (r) => `port ${r.port_id}`,
  );
  const intf6 = await step(
    `router interface on selfservice-ipv6 ${DEMO.selfservice.cidr6} (radvd advertises it)`,
    () => s.client.call<{ port_id: string }>('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet6.id }),
    (r) => `port ${r.port_id}`,
  );
  await routeTenantPrefixUpstream(s);
  return { router, intf, intf6 };
}

/** The group the instance gets: ingress ICMP and SSH from anywhere, for each family, nothing else. */
async function createSecurityGroup(s: Scene): Promise<Res> {
  const { step } = s;
  return step(
    `security group ${DEMO.group} (project demo): ingress ICMP and tcp/22, ICMPv6 and tcp/22 over IPv6`,
    async () => {
      const g = await s.post('/v2.0/security-groups', 'security_group', {
        name: DEMO.group,
        project_id: s.project,
        description: 'neutrino demo: ping and ssh',
      });
      const ssh = { protocol: 'tcp', port_range_min: 22, port_range_max: 22 };
      const rules = [
        ...[{ protocol: 'icmp' }, ssh].map((r) => ({ ethertype: 'IPv4', remote_ip_prefix: '0.0.0.0/0', ...r })),
        ...[{ protocol: 'ipv6-icmp' }, ssh].map((r) => ({ ethertype: 'IPv6', remote_ip_prefix: '::/0', ...r })),
      ];
      for (const r of rules) {
        await s.post('/v2.0/security-group-rules', 'security_group_rule', {
          security_group_id: g.id,
          project_id: s.project,
          direction: 'ingress',
          ...r,
        });
      }
      return g;
    },
    (g) => g.id,
  );
}

/** The instance on compute1 with its fixed IP and the client's key in its metadata; DHCP must have given it that address. */
async function bootInstance(s: Scene, nets: Networks, group: Res, keys: Keys): Promise<InstanceRecord> {
  const { step } = s;
  const { selfservice } = nets;
  const { record: inst } = await step(
    `instance instance on compute1, fixed IP ${DEMO.instance.ip}, group ${DEMO.group}`,
    () =>
      createInstance(s.ctx, {
        name: 'instance',
        network: selfservice.id,
        host: 'compute1',
        securityGroups: [group.id],
        fixedIp: DEMO.instance.ip,
        project: 'demo',
        dhcpTimeoutMs: 30_000,
        publicKeys: [{ name: DEMO.keyName, key: keys.pub }],
        print: () => undefined,
      }),
    (r) => `${r.record.ip} by DHCP, port ${r.record.port.id}, namespace ${r.record.namespace}`,
  );
  if (inst.ip?.split('/')[0] !== DEMO.instance.ip) throw new LabError(`the instance got ${inst.ip}, not ${DEMO.instance.ip}`);
  return inst;
}

async function associateFloatingIp(s: Scene, nets: Networks, inst: InstanceRecord): Promise<Res> {
  const { step } = s;
  const { provider } = nets;
  return step(
    `floating IP ${DEMO.floatingIp} associated to the instance's port`,
    () =>
      s.post('/v2.0/floatingips', 'floatingip', {
        floating_network_id: provider.id,
        floating_ip_address: DEMO.floatingIp,
        port_id: inst.port.id,
        project_id: s.project,
      }),
    (f) => f.id,
  );
}
