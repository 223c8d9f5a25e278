// What the demo's steps share: its fixed plan (names and addresses), the numbered step printer, and
// the scene (the lab, the admin API client, the demo project) every step works in.
import type { NeutrinoClient } from '../client/neutrino.ts';
import { runStatus } from '../exec/run.ts';
import { projectId } from './bootstrap.ts';
import { adminClient, nodeNamespace, type LabContext } from './context.ts';
import { PROVIDER_CIDR6, PROVIDER_GATEWAY6 } from './topology.ts';
import type { Abort, Print } from './util.ts';

export const DEMO = {
  provider: {
    name: 'provider',
    cidr: '10.123.123.0/24',
    gateway: '10.123.123.1',
    pool: { start: '10.123.123.100', end: '10.123.123.200' },
    // The dual-stack half: the upstream host's address is the gateway, as 10.123.123.1 is.
    cidr6: PROVIDER_CIDR6,
    gateway6: PROVIDER_GATEWAY6,
    pool6: { start: '2001:db8:123::100', end: '2001:db8:123::200' },
  },
  selfservice: { name: 'selfservice', vni: 41, cidr: '172.16.1.0/24', gateway: '172.16.1.1', cidr6: '2001:db8:1::/64' },
  router: { name: 'router', gatewayIp: '10.123.123.102', gatewayIp6: '2001:db8:123::102' },
  group: 'demo-ssh',
  /** the key pair's name in the instance's metadata (the install guide's `openstack keypair create ... mykey`) */
  keyName: 'mykey',
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

/** A resource as the API returns it. */
export interface Res {
  id: string;
  [k: string]: unknown;
}

/** Runs one numbered step, printing what it made and how long it took. */
export function stepper(print: Print, abort: Abort) {
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

export type Step = ReturnType<typeof stepper>;

/** A probe for waitFor: true once `argv` exits 0 in namespace `netns`. */
export const succeeds = (argv: string[], netns: string) => async () => (await runStatus(argv, { netns })).code === 0 || null;

/** The lab, the admin API and the demo project: what every step of the scenario works with. */
export interface Scene {
  ctx: LabContext;
  o: DemoOptions;
  step: Step;
  client: NeutrinoClient;
  /** The demo project's id. */
  project: string;
  /** POSTs one resource and returns it. */
  post: (path: string, key: string, body: Record<string, unknown>) => Promise<Res>;
  /** The external host's namespace, where the proofs run from. */
  ext: string;
}

export async function openScene(ctx: LabContext, o: DemoOptions, step: Step): Promise<Scene> {
  const client = adminClient(ctx.state);
  const project = await projectId(client, 'demo');
  const post = async (path: string, key: string, body: Record<string, unknown>) =>
    (await client.call<Record<string, Res>>('POST', path, { [key]: body }))[key];
  return { ctx, o, step, client, project, post, ext: nodeNamespace(ctx.state, 'external') };
}
