// A snapshot on disk, laid out to be browsed: DIR/snapshot.json (version, source, the node list and
// the API objects) and DIR/nodes/<host>.json (one node's dump). Loading checks the version and the
// shape of every file and fails with one line naming the file and the field.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiResources, NodeDump, Snapshot } from '../snapshot.ts';

export const SNAPSHOT_FILE = 'snapshot.json';
export const NODES_DIR = 'nodes';

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** A host name as a file name ('/' and the like escaped, so a name can never leave nodes/). */
export const nodeFile = (dir: string, host: string) => join(dir, NODES_DIR, `${encodeURIComponent(host)}.json`);

/** What snapshot.json holds: the snapshot without its nodes, which are listed by host. */
interface SnapshotIndex extends Omit<Snapshot, 'nodes'> {
  nodes: string[];
}

async function writeJson(file: string, value: unknown): Promise<void> {
  // Written whole then renamed: an interrupted save never leaves half a file behind.
  await writeFile(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

export async function saveSnapshot(dir: string, snap: Snapshot): Promise<void> {
  await mkdir(join(dir, NODES_DIR), { recursive: true });
  for (const [host, dump] of Object.entries(snap.nodes)) {
    if (dump.host !== host) throw new SnapshotError(`node '${host}' holds the dump of '${dump.host}'`);
    await writeJson(nodeFile(dir, host), dump);
  }
  const index: SnapshotIndex = {
    version: snap.version,
    createdAt: snap.createdAt,
    source: snap.source,
    nodes: Object.keys(snap.nodes),
    api: snap.api,
  };
  // The index last: a snapshot.json always names node files that are there.
  await writeJson(join(dir, SNAPSHOT_FILE), index);
}

export async function loadSnapshot(dir: string): Promise<Snapshot> {
  return snapshotFrom(async (rel) => {
    const file = join(dir, rel);
    try {
      return { name: file, text: await readFile(file, 'utf8') };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SnapshotError(
        `${file}: ${code === 'ENOENT' ? 'missing (not a snapshot directory, or an incomplete one)' : (e as Error).message}`,
      );
    }
  });
}

/**
 * A snapshot from its files' texts by path, as a page uploads a recorded directory: the paths
 * relative to anything (the directory's own name first, or nothing), snapshot.json found by name;
 * node files under nodes/ beside it, or (a plain selection of files) anywhere by their name.
 */
export async function snapshotFromFiles(files: Readonly<Record<string, string>>): Promise<Snapshot> {
  const byPath = new Map(Object.entries(files).map(([p, text]) => [p.replace(/\\/g, '/'), text]));
  const paths = [...byPath.keys()];
  const index = paths.filter((p) => p === SNAPSHOT_FILE || p.endsWith(`/${SNAPSHOT_FILE}`)).sort((a, b) => a.length - b.length)[0];
  if (index === undefined) throw new SnapshotError(`${SNAPSHOT_FILE}: missing (not a recorded snapshot, or not all of its files)`);
  const root = index.slice(0, -SNAPSHOT_FILE.length);
  return snapshotFrom(async (rel) => {
    const base = rel.split('/').at(-1)!;
    const found = byPath.has(`${root}${rel}`) ? `${root}${rel}` : paths.find((p) => p === base || p.endsWith(`/${base}`));
    if (found === undefined) throw new SnapshotError(`${rel}: missing (not all of the snapshot's files were given)`);
    return { name: rel, text: byPath.get(found)! };
  });
}

/** A snapshot read through `read` (a path relative to the snapshot's directory → its name for errors and its text). */
async function snapshotFrom(read: (rel: string) => Promise<{ name: string; text: string }>): Promise<Snapshot> {
  const indexFile = await read(SNAPSHOT_FILE);
  const index = parseJson(indexFile);
  checkIndex(index, indexFile.name);
  const nodes: Record<string, NodeDump> = {};
  for (const host of index.nodes) {
    const file = await read(`${NODES_DIR}/${encodeURIComponent(host)}.json`);
    const dump = parseJson(file);
    checkNodeDump(dump, file.name, host);
    nodes[host] = dump;
  }
  return { version: index.version, createdAt: index.createdAt, source: index.source, api: index.api, nodes };
}

function parseJson(file: { name: string; text: string }): unknown {
  try {
    return JSON.parse(file.text);
  } catch (e) {
    throw new SnapshotError(`${file.name}: not valid JSON: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- shape checks

type Check = (v: unknown) => boolean;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr: Check = (v) => typeof v === 'string';
const strOrNull: Check = (v) => v === null || typeof v === 'string';
const arrayOf =
  (c: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(c);
const recordOf =
  (c: Check): Check =>
  (v) =>
    isObj(v) && Object.values(v).every(c);
const shape =
  (fields: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (v) =>
    isObj(v) &&
    Object.entries(fields).every(([k, c]) => c(v[k])) &&
    Object.entries(optional).every(([k, c]) => v[k] === undefined || c(v[k]));
const apiObject = shape({ id: isStr });

const RAW_FIELDS = { ip: isStr, route6: isStr, fdb: isStr, iptablesSave: isStr, sysctl: isStr };
const RAW_OPTIONAL = { ipset: isStr, ip6tablesSave: isStr };
const RAW_NAMESPACE = shape(RAW_FIELDS, RAW_OPTIONAL);
const COMMAND = shape({ argv: arrayOf(isStr) }, { stdin: isStr });

const DHCP_NAMESPACE = shape({
  pids: (v) => v === null || arrayOf((n) => Number.isInteger(n))(v),
  cmdlines: recordOf((v) => v === null || arrayOf(isStr)(v)),
  files: recordOf(strOrNull),
});

const API_FIELDS: Record<keyof Omit<ApiResources, 'errors' | 'address_groups' | 'port_forwardings' | 'router_ha_states'>, Check> = {
  networks: arrayOf(apiObject),
  subnets: arrayOf(apiObject),
  ports: arrayOf(apiObject),
  routers: arrayOf(apiObject),
  floatingips: arrayOf(apiObject),
  security_groups: arrayOf(apiObject),
  agents: arrayOf(apiObject),
  router_hosts: recordOf(arrayOf(isStr)),
  dhcp_hosts: recordOf(arrayOf(isStr)),
};

const NODE_FIELDS: Record<string, Check> = {
  host: isStr,
  access: isStr,
  collectedAt: isStr,
  agentConfig: shape({ path: isStr, text: strOrNull }),
  namespaces: recordOf((v) => v === null || RAW_NAMESPACE(v)),
  conntrack: recordOf(isStr),
  instances: recordOf(shape({ path: isStr, xml: strOrNull })),
  errors: arrayOf(isStr),
};

/** Throws naming the first field that does not fit. */
function checkFields(
  v: Record<string, unknown>,
  file: string,
  where: string,
  fields: Record<string, Check>,
  optional: Record<string, Check> = {},
): void {
  for (const [k, c] of Object.entries(fields)) if (!c(v[k])) throw new SnapshotError(`${file}: ${where}${k} is missing or malformed`);
  for (const [k, c] of Object.entries(optional))
    if (v[k] !== undefined && !c(v[k])) throw new SnapshotError(`${file}: ${where}${k} is malformed`);
}

function checkIndex(v: unknown, file: string): asserts v is SnapshotIndex {
  if (!isObj(v)) throw new SnapshotError(`${file}: not a snapshot (expected a JSON object)`);
  if (v['version'] !== 1)
    throw new SnapshotError(`${file}: snapshot version ${JSON.stringify(v['version'])} is not supported (this neutrino reads version 1)`);
  checkFields(v, file, '', { createdAt: isStr, source: shape({ endpoint: isStr }, { lab: isStr }), nodes: arrayOf(isStr), api: isObj });
  checkFields(v['api'] as Record<string, unknown>, file, 'api.', API_FIELDS, {
    errors: arrayOf(isStr),
    address_groups: arrayOf(apiObject),
    port_forwardings: recordOf(arrayOf(apiObject)),
    router_ha_states: recordOf(recordOf(isStr)),
  });
}

function checkNodeDump(v: unknown, file: string, host: string): asserts v is NodeDump {
  if (!isObj(v)) throw new SnapshotError(`${file}: not a node dump (expected a JSON object)`);
  // Name the namespace that is wrong, not just "namespaces".
  if (isObj(v['namespaces'])) {
    for (const [ns, raw] of Object.entries(v['namespaces'])) {
      if (raw !== null) checkFields(isObj(raw) ? raw : {}, file, `namespaces[${JSON.stringify(ns)}].`, RAW_FIELDS, RAW_OPTIONAL);
    }
  }
  checkFields(v, file, '', NODE_FIELDS, {
    commands: recordOf(recordOf(COMMAND)),
    dhcp: recordOf(DHCP_NAMESPACE),
    radvd: recordOf(DHCP_NAMESPACE),
    instanceRoutes: recordOf(shape({ namespace: isStr, routes: strOrNull })),
  });
  if (v['host'] !== host) throw new SnapshotError(`${file}: holds host '${String(v['host'])}', snapshot.json lists '${host}'`);
}
