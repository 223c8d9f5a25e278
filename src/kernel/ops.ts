// The operations diff() emits and apply() (real or fake) executes, in order.
import type {
  AddressSpec,
  ChainSpec,
  FdbSpec,
  IpsetFamily,
  LinkSpec,
  NeighSpec,
  NsKey,
  ProcessSpec,
  RouteSpec,
  TableName,
} from './types.ts';

/** Attribute changes on an existing link; only the fields present are changed. */
export interface LinkChanges {
  alias?: string;
  mtu?: number;
  mac?: string;
  /** null = leave its bridge. */
  master?: string | null;
  up?: boolean;
  /** Bridge parameters back to Neutron's (forward_delay 0, STP off). */
  bridgeDefaults?: true;
}

/** One table's change inside one namespace, applied atomically by one iptables-restore. */
export interface IptablesChange {
  /** Owned chains created or rewritten whole. */
  write: ChainSpec[];
  /** Built-in chains whose neutrino rules are replaced: `remove` the observed ones, `insert` the desired at the top. */
  builtins: { chain: string; remove: string[]; insert: string[] }[];
  /** Owned chains to flush and delete. */
  delete: string[];
  /** Long owned chains changed in place (a few rules deleted and inserted) rather than rewritten. */
  edit?: ChainEdit[];
}

/**
 * Rules deleted by position (1-based, in the chain as observed; descending, so each position still
 * holds when its turn comes), or by their text when the chain was not read but taken as the last
 * converged pass left it (`deleteRules`: a chain that drifted meanwhile then fails the transaction
 * instead of losing another rule); then rules inserted at their position in the final chain (ascending).
 */
export interface ChainEdit {
  chain: string;
  deleteAt: number[];
  deleteRules?: string[];
  insert: { at: number; rule: string }[];
}

/**
 * One set's change inside one namespace (`ipset restore -exist` input). `create`: a new set with
 * `add`; `update`: members removed (`del`) then added in place, so rules using it never see it
 * missing; `recreate`: its type or family is not the desired one and no rule uses it: destroyed
 * and created again with `add` (ipset cannot swap sets of different types).
 */
export interface IpsetChange {
  name: string;
  type: string;
  family: IpsetFamily;
  mode: 'create' | 'update' | 'recreate';
  add: string[];
  del: string[];
}

export type Op =
  | { op: 'netns-add'; ns: NsKey }
  | { op: 'netns-del'; ns: NsKey }
  | { op: 'link-add'; ns: NsKey; link: Exclude<LinkSpec, { kind: 'device' }> }
  | { op: 'link-del'; ns: NsKey; name: string }
  | { op: 'link-set'; ns: NsKey; name: string; set: LinkChanges }
  | { op: 'sysctl'; ns: NsKey; key: string; value: string }
  | { op: 'addr-add'; ns: NsKey; addr: AddressSpec }
  | { op: 'addr-del'; ns: NsKey; addr: AddressSpec }
  | { op: 'route-replace'; ns: NsKey; route: RouteSpec }
  | { op: 'route-del'; ns: NsKey; route: RouteSpec }
  | { op: 'neigh-replace'; ns: NsKey; neigh: NeighSpec }
  | { op: 'neigh-del'; ns: NsKey; neigh: NeighSpec }
  | { op: 'fdb-add'; ns: NsKey; fdb: FdbSpec }
  | { op: 'fdb-del'; ns: NsKey; fdb: FdbSpec }
  | { op: 'iptables'; ns: NsKey; table: TableName; change: IptablesChange }
  /** The same for the IPv6 tables (ip6tables-restore). */
  | { op: 'ip6tables'; ns: NsKey; table: TableName; change: IptablesChange }
  | { op: 'ipset'; ns: NsKey; change: IpsetChange }
  | { op: 'ipset-destroy'; ns: NsKey; name: string }
  | { op: 'proc-start'; ns: NsKey; proc: ProcessSpec }
  | { op: 'proc-reload'; ns: NsKey; proc: ProcessSpec }
  | { op: 'proc-stop'; ns: NsKey; id: string; pidFile: string };

export type OpName = Op['op'];

/** Something the diff cannot repair by itself (e.g. a NIC that does not exist). */
export interface Unresolved {
  ns: NsKey;
  object: string;
  reason: string;
}

export interface Plan {
  ops: Op[];
  unresolved: Unresolved[];
}
