// `neutrino trace fip|port|instance`: follow traffic through every device on every node, check each
// hop against the live kernel (or a recorded snapshot), and name where and why it stops.
// Exit status: 0 healthy, 1 broken, 2 usage or environment (unreachable API, refused credentials), 3 inconclusive.
import { Command, Option } from 'commander';
import { DEFAULT_LAB } from '../lab/paths.ts';
import { AccessError } from '../trace/read/access.ts';
import { CloudConfigError } from '../client/keystone.ts';
import { ProbeError } from '../trace/probe/probe.ts';
import { runTrace, TraceUsageError, type TraceCliOptions } from '../trace/run.ts';
import { EXIT_INCONCLUSIVE, EXIT_USAGE, isUsageOrEnvironment } from './exit.ts';
import { stateRootOption } from './lab-options.ts';
import { ServerConfigError } from '../server-config.ts';
import { traceLabs } from './trace-lab.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function pairs(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0 || i === item.length - 1) throw new TraceUsageError(`${flag} takes HOST=VALUE, got '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Where the data comes from: a lab, a cloud and its nodes (shared with `neutrino web`). */
export function accessOptions(cmd: Command): Command {
  return cmd
    .option(
      '--lab <name>',
      `trace the lab NAME; with none of --node, --cloud, OS_CLOUD, OS_AUTH_URL or --snapshot, the lab '${DEFAULT_LAB}'`,
    )
    .addOption(stateRootOption())
    .option('--cloud <name>', 'cloud in clouds.yaml; without it $OS_CLOUD, or the OS_* variables')
    .option('--node <host=access>', 'how to reach a Neutron host: local, netns:NAME or ssh:USER@ADDRESS (repeatable)', collect)
    .option(
      '--agent-config <host=path>',
      'the Linux bridge agent config of a host (repeatable); other hosts: /etc/neutron/plugins/ml2/linuxbridge_agent.ini',
      collect,
    )
    .option('--instances-path <host=dir>', "nova's instances_path on a host (repeatable); other hosts: /var/lib/nova/instances", collect);
}

/** The options every trace takes: where the data comes from, the flow, the output. */
function traceOptions(cmd: Command): Command {
  return accessOptions(cmd)
    .addOption(new Option('--protocol <proto>', 'the traced flow').choices(['icmp', 'tcp', 'udp']).default('icmp'))
    .option(
      '--port <number>',
      'TCP/UDP destination port number of the flow, with --protocol tcp|udp (not a Neutron port: `trace port` takes that as its argument)',
    )
    .option('--source <ip>', "the flow's source address for inbound traces; without it anywhere outside, in a lab its client 198.51.100.1")
    .addOption(new Option('--format <format>', 'output').choices(['text', 'json', 'dot', 'mermaid']).default('text'))
    .option('--json', 'same as --format json')
    .option('--detail', 'show the evidence (command and raw line) under each hop')
    .option('--record <dir>', 'save everything read (API objects, per-node kernel dumps) as a snapshot in DIR')
    .option('--snapshot <dir>', 'trace from a recorded snapshot instead of the live system')
    .option('--color', 'colour even when not on a terminal')
    .option('--no-color', 'no colour');
}

async function act(kind: TraceCliOptions['kind'], target: string, f: Record<string, unknown>): Promise<void> {
  try {
    process.exitCode = await runTrace({
      kind,
      target,
      to: f.to as string | undefined,
      ...(f.ipv6 ? { ipv6: true } : {}),
      ...(f.metadata ? { metadata: true } : {}),
      lab: f.lab as string | undefined,
      labs: traceLabs(f.stateRoot as string | undefined),
      cloud: f.cloud as string | undefined,
      nodes: pairs(f.node as string[] | undefined, '--node'),
      agentConfigs: pairs(f.agentConfig as string[] | undefined, '--agent-config'),
      instancesPaths: pairs(f.instancesPath as string[] | undefined, '--instances-path'),
      protocol: f.protocol as TraceCliOptions['protocol'],
      port: f.port as string | undefined,
      source: f.source as string | undefined,
      format: f.json ? 'json' : (f.format as TraceCliOptions['format']),
      detail: !!f.detail,
      record: f.record as string | undefined,
      snapshot: f.snapshot as string | undefined,
      probe: !!f.probe,
      from: f.from as string | undefined,
      count: f.count as string | undefined,
      wait: f.wait as string | undefined,
      captureDir: f.captureDir as string | undefined,
      color: f.color === undefined ? undefined : !!f.color,
      write: (s) => process.stdout.write(s),
      progress: (s) => process.stderr.write(`${s}\n`),
    });
  } catch (e) {
    failWith('neutrino trace', e);
  }
}

/**
 * A failed read as the command's one-line reason and exit status: 2 for usage or the environment (a
 * bad option, an unreachable API, refused credentials), 3 when the command could not decide.
 */
export function failWith(command: string, e: unknown): void {
  const usage =
    e instanceof TraceUsageError ||
    e instanceof AccessError ||
    e instanceof CloudConfigError ||
    e instanceof ProbeError ||
    e instanceof ServerConfigError ||
    isUsageOrEnvironment(e);
  process.stderr.write(`${command}: ${(e as Error).message}\n`);
  process.exitCode = usage ? EXIT_USAGE : EXIT_INCONCLUSIVE;
}

/** --probe and its options; `from` says where the traffic starts by default in a lab. */
function probeOptions(cmd: Command, from = 'its external host'): Command {
  return cmd
    .option(
      '--probe',
      'also send real traffic and capture on every hop device of every node at once: the hop where packets vanish is measured',
    )
    .option('--from <access>', `where the probe sends from: local, netns:NAME or ssh:USER@ADDRESS; in a lab, without it: ${from}`)
    .option('--count <n>', 'echo requests the probe sends; 3 when not given')
    .option('--capture-dir <dir>', "where the probe's pcaps are kept; without it a new temp directory");
}

export function registerTraceCommand(program: Command): void {
  const trace = program
    .command('trace')
    .description(
      'Follow traffic through every device on every node, check each hop against the live kernel, and say where and why it stops',
    )
    .addHelpText(
      'after',
      `
Where the data comes from:
  a lab (default: --lab ${DEFAULT_LAB}), or any cloud: --cloud NAME / OS_CLOUD + clouds.yaml, with
  --node HOST=ACCESS for each Neutron host (ACCESS: local, netns:NAME, ssh:USER@ADDRESS), or a
  snapshot recorded with --record DIR (--snapshot DIR: no root, no live system needed).

Exit status (the report's verdict): 0 healthy, 1 the path is broken, 2 usage or environment error
(bad flag or argument, unreachable API, refused credentials), 3 inconclusive (no hop broken but some
could not be checked, or the trace could not decide).`,
    );
  const fip = trace
    .command('fip')
    .argument('<address>', 'the floating IP address')
    .description(
      "The scenario's walk (docs/scenario.md): upstream → provider bridge → router (qg-, DNAT, qr-) → tenant bridge → VXLAN → the instance's node → security group → tap → instance, and the reply leg",
    );
  probeOptions(traceOptions(fip)).action((address: string, f: Record<string, unknown>) => act('fip', address, f));
  const port = trace
    .command('port')
    .argument('<port-id>', 'the Neutron port the traffic starts from: its id or an 8+ character id prefix')
    .description(
      'From a port (id or an 8+ character id prefix) to another port or an address: east-west on its network, through its router to another network, or out through the router (SNAT) to the outside',
    );
  probeOptions(traceOptions(port), "the port's instance")
    .option('--to <address|port-id>', 'the destination (required): a port id, a fixed IP of a port, or an address outside')
    .action((id: string, f: Record<string, unknown>) => act('port', id, f));
  const instance = trace
    .command('instance')
    .argument('<name|id>', 'the instance: its name in a lab, else its id')
    .description(
      "An instance's connectivity: its DHCP leg, then its floating IP's path in (the scenario's walk) when it has one, else its way out to the external network's gateway; --to traces to that destination instead. The family: IPv4 when the instance has a floating IP or an IPv4 address, IPv6 when it has only IPv6 addresses (or with --ipv6). Names are resolved in a lab; elsewhere give the instance id (its ports' device_id)",
    );
  probeOptions(traceOptions(instance), 'the instance itself; for its floating IP, the external host')
    .option('--to <address|port-id>', 'trace from the instance to this destination instead')
    .option(
      '--ipv6',
      "the instance's way out over IPv6 (from its IPv6 address to the external network's IPv6 gateway, routed: no floating IP) and its DHCPv6 leg; the default for an instance with only IPv6 addresses",
    )
    .option(
      '--metadata',
      "the instance's metadata path to 169.254.169.254: the router's redirect and metadata proxy, or on an isolated network the DHCP namespace's proxy and the route DHCP gives; the metadata agent",
    )
    .action((name: string, f: Record<string, unknown>) => act('instance', name, f));
  const dhcp = trace
    .command('dhcp')
    .argument('<port-id>', "the instance's Neutron port: its id or an 8+ character id prefix")
    .description(
      "A port's DHCP exchange: its tap, security group (the DHCP rules) and bridge, across to each DHCP node of its network, the DHCP agent, the qdhcp- namespace and the DHCP port's veth, dnsmasq running with the subnet's options and the port's host entry (MAC → address), and the reply back; --probe runs a DHCP client (busybox udhcpc on eth0, changing nothing) where the port's traffic starts. DHCPv6 (--ipv6, or a port with only IPv6 addresses): the same walk over udp 546 → 547 with the ip6tables rules, after the router's advertisements that tell the instance to ask (radvd); on SLAAC subnets there is no DHCPv6 exchange, and radvd is checked instead",
    );
  probeOptions(traceOptions(dhcp), "the port's instance")
    .option('--ipv6', 'the DHCPv6 exchange (the default for a port with only IPv6 addresses)')
    .option(
      '--wait <seconds>',
      'with --probe: start no client, capture for SECONDS (1-600) while the instance renews its lease or you start its DHCP client',
    )
    .action((id: string, f: Record<string, unknown>) => act('dhcp', id, f));
}
