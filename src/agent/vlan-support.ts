// Whether this node's kernel can make 802.1Q subinterfaces: 8021q loaded (its /proc/net/vlan, in
// every network namespace, or /sys/module/8021q) or loadable (the module file; `ip link add … type
// vlan` loads it). Without it a VLAN network cannot be wired here, and trying would stop every pass
// at the same failed command.
import { existsSync } from 'node:fs';
import { release } from 'node:os';

export function kernelHasVlan(exists: (path: string) => boolean = existsSync, kernelRelease = release()): boolean {
  return ['/proc/net/vlan', '/sys/module/8021q', `/lib/modules/${kernelRelease}/kernel/net/8021q`].some((p) => exists(p));
}
