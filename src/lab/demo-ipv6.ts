// The demo's IPv6 steps that are not API calls: the upstream route to the tenant prefix (on the lab's
// external host, as an operator configures the upstream router), and the instance's SLAAC address,
// waited for and checked against the address the API gave its port.
import { run, runStatus } from '../exec/run.ts';
import { DEMO, type Res, type Scene } from './demo-scene.ts';
import { instanceAddresses } from './instance.ts';
import type { InstanceRecord } from './instance-state.ts';
import type { ApiPort } from './instance-api.ts';
import { LabError } from './topology.ts';
import { waitFor } from './util.ts';

/**
 * radvd answers the instance's router solicitation at once; its unsolicited advertisements come only
 * every 30-100 s (Neutron's min/max_rtr_adv_interval): the limit leaves room for one of those.
 */
const SLAAC_TIMEOUT_MS = 120_000;
const PROGRESS_EVERY_MS = 5_000;

/** Whether a global address on the instance's eth0 is still in duplicate address detection (not usable yet). */
const tentative = async (namespace: string): Promise<boolean> =>
  (await runStatus(['ip', '-n', namespace, '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global', 'tentative'])).stdout.includes('inet6');

/** No NAT for IPv6: the tenant prefix is routed to the router's gateway address. */
export async function routeTenantPrefixUpstream(s: Scene): Promise<void> {
  const { cidr6 } = DEMO.selfservice;
  const via = DEMO.router.gatewayIp6;
  await s.step(`upstream route on the external host: ${cidr6} via ${via} (the router's gateway)`, () =>
    run(['ip', '-n', s.ext, '-6', 'route', 'replace', cidr6, 'via', via, 'dev', s.ctx.state.topology.external.nic]),
  );
}

/** The instance's global IPv6 address from the routers' advertisements, once it has it: the port's address on `subnet6`. */
export async function waitForSlaacAddress(s: Scene, inst: InstanceRecord, subnet6: Res): Promise<string> {
  const { step, o } = s;
  return step(
    `instance's SLAAC address on ${DEMO.selfservice.cidr6} (router advertisement from radvd)`,
    async () => {
      const { port } = await s.client.call<{ port: ApiPort }>('GET', `/v2.0/ports/${inst.port.id}`);
      const expected = port.fixed_ips.find((f) => f.subnet_id === subnet6.id)?.ip_address;
      if (!expected) throw new LabError(`port ${port.id} has no address on subnet ${subnet6.id} (selfservice-ipv6)`);
      const t0 = Date.now();
      let reported = t0;
      const addrs = await waitFor(
        async () => {
          const got = await instanceAddresses(inst.namespace, 6);
          if (got.length && !(await tentative(inst.namespace))) return got;
          if (Date.now() - reported >= PROGRESS_EVERY_MS) {
            reported = Date.now();
            o.print(`    waiting for a router advertisement on ${inst.namespace} eth0 (${Math.round((reported - t0) / 1000)} s)`);
          }
          return null;
        },
        {
          timeoutMs: SLAAC_TIMEOUT_MS,
          everyMs: 250,
          abort: o.abort,
          onTimeout: () =>
            new LabError(
              `the instance has no global IPv6 address after ${SLAAC_TIMEOUT_MS / 1000} s: no router advertisement for ${DEMO.selfservice.cidr6}`,
            ),
        },
      );
      if (!addrs.includes(`${expected}/64`))
        throw new LabError(`the instance autoconfigured ${addrs.join(', ')}, but the API gave its port ${expected}`);
      return expected;
    },
    (ip) => `${ip}/64, the port's fixed IPv6 address (EUI-64 of ${inst.port.mac})`,
  );
}
