// An instance port for L2 planner tests: bound to compute1, no addresses, no port security — only
// its network and tap matter.
import type { PortView } from '../../src/model/hostview.ts';

export const l2Port = (id: string, networkId: string): PortView => ({
  id,
  network_id: networkId,
  mac_address: 'fa:16:3e:a7:f7:5a',
  fixed_ips: [],
  device_owner: 'compute:nova',
  device_id: 'x',
  admin_state_up: true,
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  binding_host_id: 'compute1',
  extra_dhcp_opts: [],
});
