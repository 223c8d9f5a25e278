// `neutrino demo`: the canonical scenario in one command. Brings up a lab (replacing one of the same
// name), creates the provider and self-service networks, the router, a security group, the instance
// with an SSH server and its floating IP through the API, then proves it from the external host
// (ping, ssh login showing 172.16.1.3, a port the group does not allow stays closed).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bridgeName, ROUTER_NS_PREFIX, tapName } from '../kernel/names.js';
import { ROUTER_GW_OWNER } from '../model/neutron.js';
import { projectId } from './bootstrap.js';
import { adminClient, loadLab, nodeNamespace, type LabContext } from './context.js';
import { labDown } from './down.js';
import { createInstance } from './instance.js';
import { listNamespaces } from './netns.js';
import { labPaths, stateRoot, stateRootFlag } from './paths.js';
import { inNetns, run, runStatus, spawnDetached } from '../exec/run.js';
import { table } from './status.js';
import { LabError } from './topology.js';
import { labUp } from './up.js';
import { waitFor, type Abort, type Print } from './util.js';
import { DEMO_SSHD } from './demo-paths.js';

export const DEMO = {
  provider: {
    name: 'provider',
    cidr: '10.123.123.0/24',
    gateway: '10.123.123.1',
    pool: { start: '10.123.123.100', end: '10.123.123.200' },
  },
  selfservice: { name: 'selfservice', vni: 41, cidr: '172.16.1.0/24', gateway: '172.16.1.1' },
  router: { name: 'router', gatewayIp: '10.123.123.102' },
  group: 'demo-ssh',
  instance: { name: 'instance', host: 'compute1', ip: '172.16.1.3' },
  floatingIp: '10.123.123.104',
  blockedPort: 8080,
} as const;

export interface DemoOptions {
  lab: string;
  stateRoot?: string;
  down: boolean;
  print: Print;
  abort: Abort;
}

interface Res {
  id: string;
  [k: string]: unknown;
}

/** Runs one numbered step, printing what it made and how long it took. */
function stepper(print: Print, abort: Abort) {
  let n = 0;
  return async <T>(what: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    abort.check();
    n += 1;
    const t0 = Date.now();
    const v = await fn();
    const extra = detail ? `: ${detail(v)}` : '';
    print(`[${n}] ${what}${extra} (${((Date.now() - t0) / 1000).toFixed(2)} s)`);
    return v;
  };
}

/** A probe for waitFor: true once `argv` exits 0 in namespace `netns`. */
const succeeds = (argv: string[], netns: string) => async () => (await runStatus(argv, { netns })).code === 0 || null;

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

type Step = ReturnType<typeof stepper>;

async function scenario(ctx: LabContext, o: DemoOptions, step: Step): Promise<void> {
  const { state, paths } = ctx;
  const c = adminClient(state);
  const demoProject = await projectId(c, 'demo');
  const post = async (path: string, key: string, body: Record<string, unknown>) =>
    (await c.call<Record<string, Res>>('POST', path, { [key]: body }))[key];
  const ext = nodeNamespace(state, 'external');
  const L = `--lab ${o.lab}${stateRootFlag(stateRoot(o.stateRoot))}`;

  // --- the resources, through the API ---
  const provider = await step(
    'network provider (flat, physnet provider, router:external)',
    () =>
      post('/v2.0/networks', 'network', {
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
      post('/v2.0/subnets', 'subnet', {
        name: 'provider',
        network_id: provider.id,
        ip_version: 4,
        cidr: DEMO.provider.cidr,
        gateway_ip: DEMO.provider.gateway,
        allocation_pools: [DEMO.provider.pool],
        enable_dhcp: false,
      }),
    (s) => s.id,
  );
  const selfservice = await step(
    `network selfservice (vxlan, VNI ${DEMO.selfservice.vni}, project demo)`,
    () =>
      post('/v2.0/networks', 'network', {
        name: 'selfservice',
        project_id: demoProject,
        'provider:network_type': 'vxlan',
        'provider:segmentation_id': DEMO.selfservice.vni,
      }),
    (n) => n.id,
  );
  const selfSubnet = await step(
    `subnet selfservice ${DEMO.selfservice.cidr}, gateway ${DEMO.selfservice.gateway}`,
    () =>
      post('/v2.0/subnets', 'subnet', {
        name: 'selfservice',
        network_id: selfservice.id,
        project_id: demoProject,
        ip_version: 4,
        cidr: DEMO.selfservice.cidr,
        gateway_ip: DEMO.selfservice.gateway,
      }),
    (s) => s.id,
  );
  const router = await step(
    `router router (project demo), gateway ${DEMO.router.gatewayIp} on provider`,
    () =>
      post('/v2.0/routers', 'router', {
        name: 'router',
        project_id: demoProject,
        external_gateway_info: {
          network_id: provider.id,
          external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: DEMO.router.gatewayIp }],
        },
      }),
    (r) => r.id,
  );
  const intf = await step(
    `router interface ${DEMO.selfservice.gateway} on selfservice`,
    () => c.call<{ port_id: string }>('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id }),
    (r) => `port ${r.port_id}`,
  );
  const group = await step(
    `security group ${DEMO.group} (project demo): ingress ICMP and tcp/22`,
    async () => {
      const g = await post('/v2.0/security-groups', 'security_group', {
        name: DEMO.group,
        project_id: demoProject,
        description: 'neutrino demo: ping and ssh',
      });
      for (const r of [{ protocol: 'icmp' }, { protocol: 'tcp', port_range_min: 22, port_range_max: 22 }]) {
        await post('/v2.0/security-group-rules', 'security_group_rule', {
          security_group_id: g.id,
          project_id: demoProject,
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
  const { record: inst } = await step(
    `instance instance on compute1, fixed IP ${DEMO.instance.ip}, group ${DEMO.group}`,
    () =>
      createInstance(ctx, {
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
  const instDir = paths.instanceDir(inst.id);

  const keys = await step(
    'SSH key pair and dropbear host key (dropbearkey ed25519)',
    () => makeKeys(paths.dir),
    (k) => k.key,
  );
  await step(
    `SSH server in the instance (dropbear on ${DEMO.instance.ip}:22)`,
    async () => {
      const pid = await startSshd(inst.namespace, instDir, keys);
      await waitFor(succeeds(['nc', '-z', '-w', '1', DEMO.instance.ip, '22'], inst.namespace), {
        timeoutMs: 10_000,
        abort: o.abort,
        onTimeout: () => new LabError(`dropbear does not listen on port 22 in ${inst.namespace}; log: ${join(instDir, 'sshd.log')}`),
      });
      return pid;
    },
    (pid) => `pid ${pid} (recorded in ${join(instDir, 'sshd.pid')})`,
  );
  await step(
    `listener on tcp/${DEMO.blockedPort} in the instance (not allowed by the group)`,
    async () => {
      const pid = await spawnDetached(inNetns(['nc', '-l', '-k', String(DEMO.blockedPort)], inst.namespace), {
        log: join(instDir, `nc-${DEMO.blockedPort}.log`),
      });
      writeFileSync(join(instDir, `nc-${DEMO.blockedPort}.pid`), `${pid}\n`);
      await waitFor(succeeds(['nc', '-z', '-w', '1', DEMO.instance.ip, String(DEMO.blockedPort)], inst.namespace), {
        timeoutMs: 5_000,
        abort: o.abort,
        onTimeout: () => new LabError(`the test listener on port ${DEMO.blockedPort} did not start in ${inst.namespace}`),
      });
      return pid;
    },
    (pid) => `nc pid ${pid}`,
  );
  const fip = await step(
    `floating IP ${DEMO.floatingIp} associated to the instance's port`,
    () =>
      post('/v2.0/floatingips', 'floatingip', {
        floating_network_id: provider.id,
        floating_ip_address: DEMO.floatingIp,
        port_id: inst.port.id,
        project_id: demoProject,
      }),
    (f) => f.id,
  );

  // --- the proofs, from the external host ---
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

  // --- what realizes it ---
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
  o.print('');
  o.print('Explore:');
  o.print(`  eval "$(neutrino lab env ${L})"   # then: openstack network list, openstack router show router, openstack floating ip list`);
  o.print(`  neutrino instance exec ${L} instance -- ip addr`);
  o.print(`  neutrino lab exec ${L} external -- env HOME=${keys.clientHome} dbclient -y -y -i ${keys.key} root@${DEMO.floatingIp}`);
  o.print(`  neutrino lab down ${L}`);
  o.print('Next step:');
  o.print(`  neutrino trace fip ${DEMO.floatingIp}`);
}

interface Keys {
  dir: string;
  key: string;
  hostKey: string;
  home: string;
  clientHome: string;
}

/** The demo's client key, the host key, and the home dir bind-mounted over /root for dropbear. */
async function makeKeys(labDir: string): Promise<Keys> {
  const dir = join(labDir, 'demo');
  const home = join(dir, 'root');
  const clientHome = join(dir, 'client');
  for (const d of [dir, home, join(home, '.ssh'), clientHome]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  const key = join(dir, 'id_ed25519');
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  if (!existsSync(key)) await run(['dropbearkey', '-t', 'ed25519', '-f', key]);
  if (!existsSync(hostKey)) await run(['dropbearkey', '-t', 'ed25519', '-f', hostKey]);
  const pub = (await run(['dropbearkey', '-y', '-f', key])).stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (!pub) throw new LabError(`dropbearkey -y -f ${key} printed no public key`);
  writeFileSync(join(dir, 'id_ed25519.pub'), `${pub}\n`, { mode: 0o644 });
  writeFileSync(join(home, '.ssh', 'authorized_keys'), `${pub}\n`, { mode: 0o600 });
  return { dir, key, hostKey, home, clientHome };
}

/** dropbear in the instance's network namespace and a private mount namespace (see demo-sshd.ts). */
async function startSshd(namespace: string, instDir: string, k: Keys): Promise<number> {
  if (!existsSync(DEMO_SSHD)) throw new LabError(`${DEMO_SSHD} is missing: run 'npm run build'`);
  const argv = inNetns(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      process.execPath,
      DEMO_SSHD,
      k.home,
      'dropbear',
      '-F',
      '-E',
      '-R',
      '-p',
      '22',
      '-r',
      k.hostKey,
      '-P',
      join(instDir, 'dropbear.pid'),
    ],
    namespace,
  );
  const pid = await spawnDetached(argv, { log: join(instDir, 'sshd.log') });
  writeFileSync(join(instDir, 'sshd.pid'), `${pid}\n`);
  return pid;
}
