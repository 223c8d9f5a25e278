// The benches' tenant side on a providerLab (bench/l3.ts): network `selfservice` with 172.16.1.0/24
// (gateway .1), a security group admitting one ingress protocol (and port), and instance `vm` on
// compute1 in it, all as the lab's admin through the API.
import { createInstance } from '../src/lab/instance.ts';
import type { providerLab } from './l3.ts';

type ProviderLab = Awaited<ReturnType<typeof providerLab>>;

/** What the instance's security group admits besides replies. */
export interface Ingress {
  protocol: 'icmp' | 'tcp';
  port?: number;
}

export async function selfServiceInstance({ ctx, post }: Pick<ProviderLab, 'ctx' | 'post'>, ingress: Ingress, dhcpTimeoutMs = 30_000) {
  const network = await post('/v2.0/networks', 'network', { name: 'selfservice' });
  const subnet = await post('/v2.0/subnets', 'subnet', {
    network_id: network.id,
    ip_version: 4,
    cidr: '172.16.1.0/24',
    gateway_ip: '172.16.1.1',
  });
  const group = await post('/v2.0/security-groups', 'security_group', { name: `bench-${ingress.protocol}` });
  await post('/v2.0/security-group-rules', 'security_group_rule', {
    security_group_id: group.id,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: ingress.protocol,
    ...(ingress.port !== undefined ? { port_range_min: ingress.port, port_range_max: ingress.port } : {}),
  });
  const { record: vm } = await createInstance(ctx, {
    name: 'vm',
    network: network.id,
    host: 'compute1',
    securityGroups: [group.id],
    project: 'admin',
    dhcpTimeoutMs,
    print: () => undefined,
  });
  return { network, subnet, vm };
}
