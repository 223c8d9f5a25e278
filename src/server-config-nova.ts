// The server's Nova settings, in Neutron's names: [DEFAULT] notify_nova_on_port_status_changes,
// notify_nova_on_port_data_changes, send_events_interval, http_retries, and the [nova] section
// (keystoneauth's password options, region_name, endpoint_type, timeout). Without [nova] auth_type
// Nova is not notified (neutrino's default: no behaviour without configuration).
import type { PasswordAuth } from './client/keystone.ts';

export interface NovaConfig {
  /** Keystone's Identity API the [nova] user logs in at (its token's catalog names Nova). */
  authUrl: string;
  auth: PasswordAuth;
  regionName?: string;
  endpointType: 'public' | 'internal' | 'admin';
  /** Seconds to wait for an answer from Keystone or Nova (keystoneauth's session timeout). */
  timeout: number;
  /** network-vif-plugged / -unplugged on status changes (notify_nova_on_port_status_changes). */
  notifyOnStatusChanges: boolean;
  /** network-vif-deleted on deletes (notify_nova_on_port_data_changes). */
  notifyOnDataChanges: boolean;
  /** Seconds between two batches of events (send_events_interval). */
  sendEventsInterval: number;
  /** Further attempts for a batch that could not be delivered (http_retries). */
  httpRetries: number;
}

/** A [nova] or Nova-related [DEFAULT] value neutrino cannot start with. */
export class NovaConfigError extends Error {}

/** keystoneauth's password plugin options, as [nova] and [keystone_authtoken] both take them. */
export const PASSWORD_AUTH_OPTIONS = [
  'auth_type',
  'auth_url',
  'username',
  'user_id',
  'password',
  'project_name',
  'project_id',
  'user_domain_name',
  'user_domain_id',
  'project_domain_name',
  'project_domain_id',
];
const NOVA_OPTIONS = new Set([...PASSWORD_AUTH_OPTIONS, 'region_name', 'endpoint_type', 'timeout']);
const ENDPOINT_TYPES = ['public', 'internal', 'admin'] as const;

type Section = Record<string, unknown>;
const text = (s: Section, name: string): string | undefined =>
  s[name] === undefined || s[name] === '' || typeof s[name] === 'boolean' ? undefined : String(s[name]);

/** oslo.config's booleans. */
function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  const t = String(v).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new NovaConfigError(`${name} must be true or false, not '${String(v)}'`);
}

function int(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined || v === '') return dflt;
  const t = String(v).trim();
  if (!/^\d+$/.test(t) || Number(t) < min) throw new NovaConfigError(`${name} must be an integer of at least ${min}, not '${String(v)}'`);
  return Number(t);
}

/** The Nova notifier's settings, or null when [nova] names no auth_type (Nova is then not notified). */
export function parseNovaOptions(defaults: Section, nova: Section | undefined, warnings: string[]): NovaConfig | null {
  const notifyOnStatusChanges = bool('notify_nova_on_port_status_changes', defaults.notify_nova_on_port_status_changes, true);
  const notifyOnDataChanges = bool('notify_nova_on_port_data_changes', defaults.notify_nova_on_port_data_changes, true);
  const sendEventsInterval = int('send_events_interval', defaults.send_events_interval, 2, 1);
  const httpRetries = int('http_retries', defaults.http_retries, 3, 0);
  if (!nova) return null;
  const unknown = Object.keys(nova).filter((o) => !NOVA_OPTIONS.has(o));
  if (unknown.length) warnings.push(`[nova] options not implemented by neutrino, without effect: ${unknown.sort().join(', ')}`);
  const authType = text(nova, 'auth_type');
  if (!authType) {
    warnings.push('[nova] has no auth_type: Nova is not notified of port changes');
    return null;
  }
  if (authType !== 'password' && authType !== 'v3password')
    throw new NovaConfigError(`[nova] auth_type must be 'password' (the only one neutrino implements), not '${authType}'`);
  const need = (name: string, alt?: string) => {
    if (!text(nova, name) && !(alt && text(nova, alt)))
      throw new NovaConfigError(`[nova] auth_type = ${authType} needs ${name}${alt ? ` (or ${alt})` : ''}`);
  };
  need('auth_url');
  need('password');
  need('username', 'user_id');
  need('project_name', 'project_id');
  const authUrl = text(nova, 'auth_url')!.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(authUrl)) throw new NovaConfigError(`[nova] auth_url must be an http(s) URL, not '${authUrl}'`);
  const endpointType = text(nova, 'endpoint_type') ?? 'public';
  if (!(ENDPOINT_TYPES as readonly string[]).includes(endpointType))
    throw new NovaConfigError(`[nova] endpoint_type must be one of ${ENDPOINT_TYPES.join(', ')}, not '${endpointType}'`);
  if (!notifyOnStatusChanges && !notifyOnDataChanges)
    warnings.push('[nova] is set but notify_nova_on_port_status_changes and notify_nova_on_port_data_changes are both false');
  return {
    authUrl,
    auth: {
      password: text(nova, 'password')!,
      username: text(nova, 'username'),
      userId: text(nova, 'user_id'),
      userDomainName: text(nova, 'user_domain_name'),
      userDomainId: text(nova, 'user_domain_id'),
      projectName: text(nova, 'project_name'),
      projectId: text(nova, 'project_id'),
      projectDomainName: text(nova, 'project_domain_name'),
      projectDomainId: text(nova, 'project_domain_id'),
    },
    regionName: text(nova, 'region_name'),
    endpointType: endpointType as NovaConfig['endpointType'],
    timeout: int('[nova] timeout', nova.timeout, 30, 1),
    notifyOnStatusChanges,
    notifyOnDataChanges,
    sendEventsInterval,
    httpRetries,
  };
}
