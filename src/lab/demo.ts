// `neutrino demo`: the canonical scenario in one command. Brings up a lab (replacing one of the same
// name), creates the provider and self-service networks, the router, a security group, the instance
// with an SSH server and its floating IP through the API, then proves it from the external host
// (ping, ssh login showing 172.16.1.3, a port the group does not allow stays closed).
import { existsSync } from 'node:fs';
import { loadLab, type LabContext } from './context.js';
import { createInstance } from './instance.js';
import { labDown } from './down.js';
import { listNamespaces } from './netns.js';
import { labPaths, stateRoot, stateRootFlag } from './paths.js';
import { DEMO, openScene, stepper, type DemoOptions, type Res, type Scene, type Step } from './demo-scene.js';
import { printExplore, printRealization, proveFromExternalHost } from './demo-proofs.js';
import { startInstanceServers } from './demo-ssh.js';
import type { InstanceRecord } from './instance-state.js';
import { LabError } from './topology.js';
import { labUp } from './up.js';

export { DEMO, type DemoOptions } from './demo-scene.js';

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
  const inst = await bootInstance(s, nets, group);
  const keys = await startInstanceServers(s, inst);
  const fip = await associateFloatingIp(s, nets, inst);
  await proveFromExternalHost(s, keys);
  await printRealization(s, { ...nets, ...routing, group, inst, fip });
  printExplore(o, keys);
}

interface Networks {
  provider: Res;
  providerSubnet: Res;
  selfservice: Res;
  selfSubnet: Res;
}

/** The provider network (external, flat) and the demo project's self-service network (vxlan), each with its subnet. */
async function createNetworks(s: Scene): Promise<Networks> {
  return { ...(await createProviderNetwork(s)), ...(await createSelfServiceNetwork(s)) };
}

async function createProviderNetwork(s: Scene): Promise<Pick<Networks, 'provider' | 'providerSubnet'>> {
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
  return { provider, providerSubnet };
}

async function createSelfServiceNetwork(s: Scene): Promise<Pick<Networks, 'selfservice' | 'selfSubnet'>> {
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
  return { selfservice, selfSubnet };
}

/** The demo project's router: its gateway on the provider network, an interface on the self-service subnet. */
async function createRouter(s: Scene, nets: Networks): Promise<{ router: Res; intf: { port_id: string } }> {
  const { step } = s;
  const { provider, providerSubnet, selfSubnet } = nets;
  const router = await step(
    `router router (project demo), gateway ${DEMO.router.gatewayIp} on provider`,
    () =>
      s.post('/v2.0/routers', 'router', {
        name: 'router',
        project_id: s.project,
        external_gateway_info: {
          network_id: provider.id,
          external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: DEMO.router.gatewayIp }],
        },
      }),
    (r) => r.id,
  );
  const intf = await step(
    `router interface ${DEMO.selfservice.gateway} on selfservice`,
    () => s.client.call<{ port_id: string }>('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id }),
    (r) => `port ${r.port_id}`,
  );
  return { router, intf };
}

/** The group the instance gets: ingress ICMP and SSH from anywhere, nothing else. */
async function createSecurityGroup(s: Scene): Promise<Res> {
  const { step } = s;
  return step(
    `security group ${DEMO.group} (project demo): ingress ICMP and tcp/22`,
    async () => {
      const g = await s.post('/v2.0/security-groups', 'security_group', {
        name: DEMO.group,
        project_id: s.project,
        description: 'neutrino demo: ping and ssh',
      });
      for (const r of [{ protocol: 'icmp' }, { protocol: 'tcp', port_range_min: 22, port_range_max: 22 }]) {
        await s.post('/v2.0/security-group-rules', 'security_group_rule', {
          security_group_id: g.id,
          project_id: s.project,
          direction: 'ingress',
          ethertype: 'IPv4',
          remote_ip_prefix: '0.0.0.0/0',
          ...r,
        });
      }
      return g;
    },
    (g) => g.id,
  );
}

/** The instance on compute1 with its fixed IP; DHCP must have given it that address. */
async function bootInstance(s: Scene, nets: Networks, group: Res): Promise<InstanceRecord> {
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
