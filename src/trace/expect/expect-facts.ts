// nodeFactsFromDump: what the planner needs to know about a node besides the resources (NodeFacts),
// from what the tracer read there — the Linux bridge agent's configuration file and the observed
// kernel state — and, where the file is missing or unreadable, from the L2 agent's own report. Each
// configured value keeps where it came from, so a hop can name the setting behind a device. Pure.
import {
  AGENT_SETTINGS,
  DEFAULT_METADATA_CONFIG,
  optionsSet,
  parseAgentConfig,
  type AgentConfig,
  type MetadataConfig,
  vxlanSettingsOf,
} from '../../agent/config.ts';
import { metadataFacts } from '../../agent/metadata-facts.ts';
import { HOST, type ObservedNamespace } from '../../kernel/types.ts';
import { AGENT_L2, AGENT_TYPES } from '../../model/neutron.ts';
import { parseNamespace } from '../../observe/node.ts';
import type { NodeFacts } from '../../planner/index.ts';
import type { VxlanSettings } from '../../planner/facts.ts';
import type { ApiObject, ApiResources, NodeDump } from '../snapshot.ts';
import { primaryRoutersOn } from './ha-primary.ts';

/** Where one value of the node's facts came from. */
export interface FactSource {
  /** the setting as the configuration file names it ('[vxlan] local_ip'), or what was looked at */
  setting: string;
  /** the value as text ('provider:eth2' for mappings) */
  value: string;
  from: 'config' | 'agent' | 'observed' | 'default';
  /** in words, for a hop's explanation */
  source: string;
}

/** Keyed by Neutron's option name: local_ip, physical_interface_mappings, state_path, roles, local_ip_device. */
export type FactSources = Record<string, FactSource>;

export interface NodeFactsResult {
  facts: NodeFacts;
  sources: FactSources;
  /** what could not be used, in words (unreadable file, parse error, no device holding local_ip) */
  problems: string[];
}

/** Roles in the agent's terms, from the agents registered on the host (alive or not: a stopped agent's role is still expected). */
export function rolesFromAgents(api: ApiResources, host: string): NodeFacts['roles'] {
  const types = new Set(api.agents.filter((a) => a['host'] === host).map((a) => a['agent_type']));
  return (Object.keys(AGENT_TYPES) as Array<keyof typeof AGENT_TYPES>).filter((role) => types.has(AGENT_TYPES[role].agent_type));
}

export const l2AgentOf = (api: ApiResources, host: string): ApiObject | undefined =>
  api.agents.find((a) => a['host'] === host && a['agent_type'] === AGENT_L2);

const reported = (agent: ApiObject | undefined): Record<string, unknown> =>
  agent && agent['configurations'] && typeof agent['configurations'] === 'object'
    ? (agent['configurations'] as Record<string, unknown>)
    : {};

export const mappingsText = (m: Record<string, string>): string =>
  Object.entries(m)
    .map(([physnet, nic]) => `${physnet}:${nic}`)
    .join(',');

/** The file's settings, or why they cannot be used. The host is the Neutron host's (real Neutron keeps it in neutron.conf). */
function readConfig(dump: NodeDump): { cfg: AgentConfig; set: Set<string> } | { error: string } {
  const { path, text } = dump.agentConfig;
  if (text === null) return { error: `the agent configuration ${path} could not be read` };
  try {
    return { cfg: parseAgentConfig(text, { host: dump.host }), set: optionsSet(text) };
  } catch (e) {
    return { error: `the agent configuration ${path} is not usable: ${(e as Error).message}` };
  }
}

/** The node's own namespace as observed, or null when it was not read or cannot be parsed. */
function observedHost(dump: NodeDump): { state: ObservedNamespace | null; error?: string } {
  const raw = dump.namespaces[HOST];
  if (!raw) return { state: null, error: `the node's own namespace was not read on ${dump.host}` };
  try {
    return { state: parseNamespace(HOST, raw).state };
  } catch (e) {
    return { state: null, error: `the node's own namespace on ${dump.host} could not be parsed: ${(e as Error).message}` };
  }
}

/** The agent's own default state_path, for a file that does not set it. */
const DEFAULT_AGENT = parseAgentConfig('[DEFAULT]\nhost = x\n[vxlan]\nenable_vxlan = false\n');
const DEFAULT_STATE_PATH = DEFAULT_AGENT.statePath;

interface Configured {
  localIp: string | null;
  arpResponder: boolean;
  mappings: Record<string, string>;
  bridgeMappings: Record<string, string>;
  statePath: string;
  metadata: MetadataConfig;
  vxlan: VxlanSettings;
  enableIpset: boolean;
}

/**
 * The user and group the metadata proxies run as cannot be read from the configuration (the
 * agent's own when unset): root, as agents that manage namespaces run. Only haproxy's file names them.
 */
const PROXY_IDENTITY = { user: 'root', group: 'root' };

/** Values from the file; an option the file does not set is the agent's default, said as such. */
function fromFile(cfg: AgentConfig, set: Set<string>, path: string, sources: FactSources): Configured {
  const note = (key: keyof typeof AGENT_SETTINGS, value: string) => {
    const setting = AGENT_SETTINGS[key];
    sources[optionName(setting)] = set.has(setting)
      ? { setting, value, from: 'config', source: `${setting} in ${path}` }
      : { setting, value, from: 'default', source: `${setting} not set in ${path}: the default` };
  };
  if (cfg.localIp !== null) note('localIp', cfg.localIp);
  note('physicalInterfaceMappings', mappingsText(cfg.physicalInterfaceMappings));
  if (Object.keys(cfg.bridgeMappings).length) note('bridgeMappings', mappingsText(cfg.bridgeMappings));
  note('statePath', cfg.statePath);
  note('arpResponder', String(cfg.arpResponder));
  note('udpDstport', String(vxlanSettingsOf(cfg).dstport));
  note('l2Population', String(cfg.l2Population));
  if (!cfg.l2Population) note('vxlanGroup', cfg.vxlanGroup);
  if (set.has(AGENT_SETTINGS.enableIpset)) note('enableIpset', String(cfg.enableIpset));
  return {
    vxlan: vxlanSettingsOf(cfg),
    enableIpset: cfg.enableIpset,
    localIp: cfg.localIp,
    arpResponder: cfg.l2Population && cfg.arpResponder,
    mappings: cfg.physicalInterfaceMappings,
    bridgeMappings: cfg.bridgeMappings,
    statePath: cfg.statePath,
    metadata: cfg.metadata,
  };
}

/** Values from the L2 agent's report (tunneling_ip, interface_mappings: what it runs with), when the file cannot be used. */
function fromReport(
  api: ApiResources,
  host: string,
  why: string,
  sources: FactSources,
  problems: string[],
  hostNs: ObservedNamespace | null,
): Configured {
  const agent = l2AgentOf(api, host);
  const report = reported(agent);
  const who = `the ${AGENT_L2} on ${host}`;
  const missing = (field: string) => (agent ? `${who} reports no ${field}` : `no ${AGENT_L2} is registered on ${host}`);
  const out: Configured = {
    localIp: null,
    arpResponder: false,
    mappings: {},
    bridgeMappings: {},
    statePath: DEFAULT_STATE_PATH,
    metadata: DEFAULT_METADATA_CONFIG,
    vxlan: vxlanFromDevices(report, hostNs, host, why, sources),
    // Not reported: Neutron's default.
    enableIpset: true,
  };
  const ip = report['tunneling_ip'];
  if (typeof ip === 'string' && ip) {
    out.localIp = ip;
    sources.local_ip = { setting: AGENT_SETTINGS.localIp, value: ip, from: 'agent', source: `tunneling_ip reported by ${who} (${why})` };
  } else problems.push(`${AGENT_SETTINGS.localIp} of ${host} is unknown: ${missing('tunneling_ip')}`);
  const m = report['interface_mappings'];
  if (m && typeof m === 'object' && !Array.isArray(m)) {
    out.mappings = Object.fromEntries(
      Object.entries(m as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    sources.physical_interface_mappings = {
      setting: AGENT_SETTINGS.physicalInterfaceMappings,
      value: mappingsText(out.mappings),
      from: 'agent',
      source: `interface_mappings reported by ${who} (${why})`,
    };
  } else problems.push(`${AGENT_SETTINGS.physicalInterfaceMappings} of ${host} is unknown: ${missing('interface_mappings')}`);
  const b = report['bridge_mappings'];
  if (b && typeof b === 'object' && !Array.isArray(b)) {
    out.bridgeMappings = Object.fromEntries(
      Object.entries(b as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    if (Object.keys(out.bridgeMappings).length)
      sources.bridge_mappings = {
        setting: AGENT_SETTINGS.bridgeMappings,
        value: mappingsText(out.bridgeMappings),
        from: 'agent',
        source: `bridge_mappings reported by ${who} (${why})`,
      };
  }
  sources.state_path = { setting: AGENT_SETTINGS.statePath, value: out.statePath, from: 'default', source: `a placeholder (${why})` };
  return out;
}

/**
 * Without the file, how the node's VXLAN devices are made is read from one of them (port, ttl, tos,
 * group), and l2_population from the agent's report, as Neutron's agent reports it.
 */
function vxlanFromDevices(
  report: Record<string, unknown>,
  hostNs: ObservedNamespace | null,
  host: string,
  why: string,
  sources: FactSources,
): VxlanSettings {
  const out = vxlanSettingsOf(DEFAULT_AGENT);
  if (typeof report['l2_population'] === 'boolean') out.l2Population = report['l2_population'];
  const device = hostNs?.links.find((l) => l.vxlan && /^vxlan-\d+$/.test(l.name));
  if (!device?.vxlan) return out;
  const v = device.vxlan;
  Object.assign(out, { dstport: v.dstport, ttl: v.ttl ?? null, tos: v.tos ?? null });
  if (v.group !== undefined) out.group = v.group;
  sources.udp_dstport = {
    setting: AGENT_SETTINGS.udpDstport,
    value: String(v.dstport),
    from: 'observed',
    source: `the UDP port of ${device.name} on ${host} (${why})`,
  };
  return out;
}

/** The file and the running agent disagree: the agent has not been restarted since the file changed (or reads another file). */
function checkAgainstReport(api: ApiResources, host: string, path: string, c: Configured, problems: string[]): void {
  const agent = l2AgentOf(api, host);
  if (!agent) return;
  const report = reported(agent);
  const who = `the ${AGENT_L2} on ${host}`;
  const ip = report['tunneling_ip'];
  if (typeof ip === 'string' && ip && c.localIp !== null && ip !== c.localIp) {
    problems.push(
      `${AGENT_SETTINGS.localIp} is ${c.localIp} in ${path} but ${who} reports tunneling_ip ${ip}: it runs with another configuration`,
    );
  }
  const m = report['interface_mappings'];
  const same = (a: Record<string, unknown>, b: Record<string, string>) =>
    JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  if (m && typeof m === 'object' && !Array.isArray(m) && !same(m as Record<string, unknown>, c.mappings)) {
    problems.push(
      `${AGENT_SETTINGS.physicalInterfaceMappings} is '${mappingsText(c.mappings)}' in ${path} but ${who} reports interface_mappings '${mappingsText(m as Record<string, string>)}': it runs with another configuration`,
    );
  }
}

/** `parsedHost`: the node's own namespace already parsed from this dump (saves parsing it again). */
export function nodeFactsFromDump(host: string, dump: NodeDump, api: ApiResources, parsedHost?: ObservedNamespace): NodeFactsResult {
  const sources: FactSources = {};
  const problems: string[] = [];
  const file = readConfig({ ...dump, host });
  // What only the live node knows: which device holds local_ip, which taps exist.
  const observed = parsedHost ? { state: parsedHost } : observedHost(dump);
  let c: Configured;
  if ('cfg' in file) {
    c = fromFile(file.cfg, file.set, dump.agentConfig.path, sources);
    checkAgainstReport(api, host, dump.agentConfig.path, c, problems);
  } else {
    problems.push(file.error);
    c = fromReport(api, host, file.error, sources, problems, observed.state);
  }

  const roles = rolesFromAgents(api, host);
  sources.roles = {
    setting: 'agents',
    value: roles.join(','),
    from: 'agent',
    source: `the agents registered on ${host}: ${roles.length ? roles.join(', ') : 'none'}`,
  };

  if (observed.error) problems.push(observed.error);
  const holder = c.localIp ? observed.state?.addresses.find((a) => a.address.split('/')[0] === c.localIp) : undefined;
  if (holder)
    sources.local_ip_device = {
      setting: `the device holding ${c.localIp}`,
      value: holder.dev,
      from: 'observed',
      source: `${c.localIp} is on ${holder.dev} in the node's own namespace`,
    };
  else if (c.localIp && observed.state)
    problems.push(`no device holds local_ip ${c.localIp} on ${host}: the agent cannot place its VXLAN interfaces`);

  return {
    facts: {
      host,
      roles,
      localIp: c.localIp,
      localIpDevice: holder?.dev ?? null,
      physicalInterfaceMappings: c.mappings,
      ...(Object.keys(c.bridgeMappings).length ? { bridgeMappings: c.bridgeMappings } : {}),
      arpResponder: c.arpResponder,
      vxlan: c.vxlan,
      ...(c.enableIpset ? {} : { enableIpset: false }),
      statePath: c.statePath,
      // The agent runs the metadata agent and its proxies on DHCP and L3 nodes only.
      ...(roles.includes('dhcp') || roles.includes('l3')
        ? { metadata: metadataFacts({ metadata: c.metadata, statePath: c.statePath }, PROXY_IDENTITY) }
        : {}),
      presentTaps: new Set((observed.state?.links ?? []).filter((l) => l.name.startsWith('tap')).map((l) => l.name)),
      // The agent plans an HA router's primary unlike its standby (IPv6 forwarding, radvd).
      ...(roles.includes('l3') ? { haPrimary: primaryRoutersOn(dump, api) } : {}),
    },
    sources,
    problems,
  };
}

/** '[vxlan] local_ip' → 'local_ip' */
const optionName = (setting: string): string => setting.slice(setting.indexOf('] ') + 2);
