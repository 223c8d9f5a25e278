// A targeted read of HOST: only the links, entries, tables and IP sets of a slice (kernel/slice.ts),
// so a pass caused by one change costs the same on a node with ten ports or a thousand. The other
// namespaces of a slice are read whole, as by a full observation.
import { cutTables, type Slice } from '../kernel/slice.ts';
import { emptyObservedNamespace, type ObservedNamespace, type TableName } from '../kernel/types.ts';
import { parseFdb } from '../observe/bridge.ts';
import { parseIpsetSave } from '../observe/ipset.ts';
import { parseIptablesSave } from '../observe/iptables.ts';
import { parseArray, ParseError, type Obj } from '../observe/json.ts';
import { addressesFrom, neighFrom } from '../observe/l3.ts';
import { parseLink } from '../observe/link.ts';
import { parseNetnsIds, parseSysctl } from '../observe/netns.ts';
import type { ParsedNamespace } from '../observe/node.ts';
import { isExecError } from './errors.ts';
import type { Runner } from './run.ts';
import { readSysctls } from './sysctl-here.ts';

/**
 * What a `-force` batch may say besides its output: a line naming a device that is not there, and
 * the notice of a dump that links changing meanwhile interrupted (also ignored by a full
 * observation: the second observation of the pass shows where things ended). Anything else is a failure.
 */
const EXPECTED_STDERR = /^(Device "[^"]+" does not exist\.|Command failed -:\d+|Dump was interrupted and may be inconsistent\.)$/;

/**
 * More links than this are read with one `ip -d addr show` of the whole namespace, cut to the slice:
 * each `addr show dev X` costs a few milliseconds, the whole namespace's links ~0.1 s even with
 * thousands (a burst of a thousand new taps is then one targeted pass, not a full one).
 */
export const LINKS_READ_ALONE = 64;

/**
 * The slice's links with their addresses: one `ip -d addr show dev X` line per link in one
 * `-force` batch; a missing link prints nothing (and makes the batch exit 1).
 */
export async function readLinks(run: Runner, netns: string | undefined, names: readonly string[]): Promise<Obj[]> {
  if (names.length === 0) return [];
  if (names.length > LINKS_READ_ALONE) {
    const wanted = new Set(names);
    const all = parseArray((await run(['ip', '-j', '-d', 'addr', 'show'], { netns })).stdout, 'ip -j -d addr show');
    return all.filter((l) => wanted.has(String(l.ifname)));
  }
  const out = await run(['ip', '-j', '-d', '-force', '-batch', '-'], { netns, stdin: linkReadLines(names), acceptExit: [1] });
  const unexpected = out.stderr.split('\n').filter((l) => l.trim() !== '' && !EXPECTED_STDERR.test(l.trim()));
  if (unexpected.length) throw new ParseError('ip -j -d -force -batch', unexpected.join('; '));
  return parseLinkReads(out.stdout);
}

/** The batch lines that read `names` with their addresses, one `ip -j -d` line of output each. */
export const linkReadLines = (names: readonly string[]): string => names.map((n) => `addr show dev ${n}`).join('\n') + '\n';

/** What those lines printed: the links, in the order read. */
export function parseLinkReads(stdout: string): Obj[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => parseArray(l, 'ip -j -d addr show dev'));
}

/** Whether `slice` is HOST's links alone, few enough to be read line by line (readLinks). */
export function isHostLinksAlone(slice: Slice): boolean {
  const noChains = (c: Slice['chains']) => Object.values(c).every((set) => !set || set.size === 0);
  return (
    slice.links.size > 0 &&
    slice.links.size <= LINKS_READ_ALONE &&
    slice.entryDevs.size === 0 &&
    slice.ipsets.size === 0 &&
    slice.namespaces.size === 0 &&
    noChains(slice.chains) &&
    noChains(slice.chains6)
  );
}

/** One device's output of a per-device listing that leaves the device out of each entry; none when the device is gone. */
async function perDevice(run: Runner, netns: string | undefined, argv: string[], dev: string, field: string): Promise<Obj[]> {
  try {
    const text = (await run(argv, { netns })).stdout;
    return text.trim() === '' ? [] : parseArray(text, argv.join(' ')).map((e) => ({ ...e, [field]: dev }));
  } catch (e) {
    if (isExecError(e, 'not-found')) return [];
    throw e;
  }
}

/**
 * More devices than this have their fdb entries read with one `bridge fdb show` of the namespace,
 * cut to them: a batch of per-device listings cannot say which device an entry came from.
 */
export const FDB_DEVICES_READ_ALONE = 8;

/** The fdb entries of `devices`, each naming its device (`ifname`); a device not there has none. */
export async function readFdb(run: Runner, netns: string | undefined, devices: readonly string[]): Promise<Obj[]> {
  if (devices.length === 0) return [];
  if (devices.length > FDB_DEVICES_READ_ALONE) {
    const wanted = new Set(devices);
    const all = parseArray((await run(['bridge', '-j', 'fdb', 'show'], { netns })).stdout.trim() || '[]', 'bridge -j fdb show');
    return all.filter((e) => wanted.has(String(e.ifname)));
  }
  const each = await Promise.all(devices.map((d) => perDevice(run, netns, ['bridge', '-j', 'fdb', 'show', 'dev', d], d, 'ifname')));
  return each.flat();
}

/**
 * The slice's chains of one family: each table with one `iptables-save -t TABLE`, cut to the
 * slice's chains (those not there are left out). One process per table: on a machine where a
 * process spawn is the expensive part, a process per chain cost more than reading the table; a
 * targeted pass of the agent reads no chains at all (exec/reconcile.ts), only one whose apply failed.
 */
async function readTables(
  run: Runner,
  netns: string | undefined,
  tool: 'iptables' | 'ip6tables',
  chains: Slice['chains'],
): Promise<ObservedNamespace['iptables']> {
  const tables = Object.keys(chains) as TableName[];
  const saved = await Promise.all(tables.map(async (table) => (await run([`${tool}-save`, '-t', table], { netns })).stdout));
  return cutTables(parseIptablesSave(saved.join(''), `${tool}-save`), chains);
}

/** `ipset save`; a node without the ipset tool has no sets (applying one then fails, saying why). */
export async function readIpsets(run: Runner, netns: string | undefined): Promise<string> {
  try {
    return (await run(['ipset', 'save'], { netns })).stdout;
  } catch (e) {
    if (isExecError(e, 'no-command')) return '';
    throw e;
  }
}

/**
 * HOST as the slice sees it: the same shape sliceObserved() cuts from a full observation.
 * `sysctlKeys` are the per-device sysctls of the slice's links (scopeFor of the cut desired state).
 */
export async function observeHostSlice(
  run: Runner,
  netns: string | undefined,
  slice: Slice,
  sysctlKeys: readonly string[] = [],
  /** The slice's links as readLinks() gives them, when they were read already. */
  linksReadAlready?: Obj[],
): Promise<ParsedNamespace> {
  const entryDevs = [...slice.entryDevs];
  const [links, fdb, neigh, iptables, ip6tables, ipsets, ids, sysctls] = await Promise.all([
    linksReadAlready ?? readLinks(run, netns, [...slice.links].sort()),
    readFdb(run, netns, entryDevs),
    Promise.all(entryDevs.map((d) => perDevice(run, netns, ['ip', '-j', '-d', 'neigh', 'show', 'dev', d], d, 'dev'))),
    readTables(run, netns, 'iptables', slice.chains),
    readTables(run, netns, 'ip6tables', slice.chains6),
    slice.ipsets.size ? readIpsets(run, netns) : Promise.resolve(''),
    // Only the peers of neutrino's veths need namespace ids, and the slice holds those veths'
    // namespaces (closeOver); a hypervisor's tap is never compared by its peer.
    slice.links.size && slice.namespaces.size
      ? run(['ip', '-j', 'netns', 'list-id'], { netns }).then((r) => r.stdout)
      : Promise.resolve(''),
    readSysctls(run, netns, sysctlKeys),
  ]);
  const state = emptyObservedNamespace(null);
  state.links = links.map(parseLink);
  state.addresses = addressesFrom(links);
  state.fdb = parseFdb(JSON.stringify(fdb));
  state.neigh = neighFrom(neigh.flat());
  state.iptables = iptables;
  state.ip6tables = ip6tables;
  state.sysctls = parseSysctl(sysctls);
  state.ipsets = parseIpsetSave(ipsets).filter((s) => slice.ipsets.has(s.name));
  return { state, nsids: parseNetnsIds(ids) };
}
