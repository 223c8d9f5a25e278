// When a port's MAC follows its binding rather than the API (port-mac-override, ml2's
// _commit_port_binding and _reset_mac_for_direct_physical): a direct-physical port takes the MAC of
// the physical device it is bound to. Pure.

const DIRECT_PHYSICAL = 'direct-physical';

/** Binding inputs that decide whether a binding is (re)committed: host, vnic type, profile. */
export interface BindingInputs {
  host: string;
  vnicType: string;
  /** the profile's JSON text */
  profile: string;
}

/**
 * The MAC a committed binding gives the port: a direct-physical port bound to a host takes the
 * profile's device_mac_address, or a new one without it (so an unbound port never keeps a device's
 * MAC); other ports keep theirs (undefined). A binding is committed when its inputs change and a host is set.
 */
export function macFromBinding(before: BindingInputs | null, after: BindingInputs, newMac: () => string): string | undefined {
  const changed = !before || before.host !== after.host || before.vnicType !== after.vnicType || before.profile !== after.profile;
  if (!changed || !after.host || after.vnicType !== DIRECT_PHYSICAL) return undefined;
  const device = (JSON.parse(after.profile) as Record<string, unknown>).device_mac_address;
  return device ? String(device) : newMac();
}

/** Unbinding a direct-physical port from its instance (device_id and device_owner cleared) frees the device's MAC. */
export function releasesDeviceMac(vnicType: string, currentDeviceId: string, update: Record<string, unknown>): boolean {
  return vnicType === DIRECT_PHYSICAL && update.device_id === '' && update.device_owner === '' && currentDeviceId !== '';
}
