// Where routers and DHCP servers run is read from the scheduler calls (`GET /v2.0/routers/ID/l3-agents`,
// `/networks/ID/dhcp-agents`), and the agents' state from `GET /v2.0/agents`, which Neutron answers
// only to admins. A refusal is kept among the API reading's errors (a snapshot holds them as text),
// written and recognised here, in one place.

/** The error kept when a scheduler call was refused or unknown and the hosts came from bound ports instead. */
export const hostsReadRefused = (path: string, status: number): string =>
  `GET ${path} answered ${status}: hosts taken from the ports' binding:host_id instead`;

/** The kept error saying the scheduler call of `kind` was refused (403: not an admin), its `GET … answered 403` part; null if none. */
function schedulerRefused(errors: readonly string[] | undefined, kind: 'routers' | 'networks'): string | null {
  const call = kind === 'routers' ? 'routers\\/[^ ]+\\/l3-agents' : 'networks\\/[^ ]+\\/dhcp-agents';
  const pattern = new RegExp(`^(GET \\/v2\\.0\\/${call} answered 403): hosts taken`);
  for (const e of errors ?? []) {
    const m = pattern.exec(e);
    if (m) return m[1]!;
  }
  return null;
}

/** The kept error saying the l3-agents call was refused; null if none. */
export const routerHostsRefused = (errors: readonly string[] | undefined): string | null => schedulerRefused(errors, 'routers');

/** The kept error saying the dhcp-agents call was refused; null if none. */
export const dhcpHostsRefused = (errors: readonly string[] | undefined): string | null => schedulerRefused(errors, 'networks');

/** The error kept when the agent list was refused (403) or is not served (404: no agent extension). */
export const agentsReadRefused = (status: number): string => `GET /v2.0/agents answered ${status}: no agent list`;

/** The kept error saying the agent list could not be read, its `GET … answered N` part; null if it was read. */
export function agentsRefused(errors: readonly string[] | undefined): string | null {
  for (const e of errors ?? []) {
    const m = /^(GET \/v2\.0\/agents answered \d+): no agent list$/.exec(e);
    if (m) return m[1]!;
  }
  return null;
}
