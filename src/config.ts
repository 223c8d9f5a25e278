// The server's settings and their defaults (Neutron's ml2_conf.ini equivalents).

export interface ServerConfig {
  stateDir: string;
  host: string;
  port: number;
  /** Also serve the API on this Unix socket (agents in other network namespaces reach it there). */
  unixSocket?: string;
  /** Base URL clients reach this server at; defaults to http://host:port */
  publicUrl?: string;
  /** Types given to networks created without provider attributes, in order of preference. */
  tenantNetworkTypes: string[];
  /** Inclusive VNI ranges for VXLAN tenant networks. */
  vniRanges: Array<[number, number]>;
  /** Physical networks that flat networks may use ('*' = any). */
  flatNetworks: string[];
  /** MTU of the physical underlay (Neutron's global_physnet_mtu). */
  physicalMtu: number;
  /** Token lifetime in seconds (Keystone's [token] expiration). */
  tokenTtlSeconds: number;
  /** Largest accepted request body (oslo.middleware max_request_body_size). */
  maxRequestBodyBytes: number;
  /** Seconds without a heartbeat after which an agent is shown as dead (agent_down_time). */
  agentDownTime: number;
  /** Consecutive failed password checks that lock a user (Keystone's lockout_failure_attempts); null: never. */
  lockoutFailureAttempts: number | null;
  /** Seconds a locked user stays locked after the last failure (Keystone's lockout_duration). */
  lockoutDuration: number;
  /** Cap in seconds of the per-user delay after failed password checks; 0 turns the back-off off. */
  failureBackoffMax: number;
  /** The delay after a user's first failure, in ms; doubled for each further one. */
  failureBackoffInitialMs: number;
  /** How many of the newest change-feed revisions are kept; an agent further behind resyncs. */
  changeFeedWindow: number;
  /** Seconds a client has to send a request's headers; then 408 and the connection is closed. */
  headerTimeout: number;
  /** Seconds a client has to send a whole request, headers and body. A long-poll waits on the server's side, after it. */
  requestTimeout: number;
  /** Seconds an idle keep-alive connection stays open. */
  keepaliveTimeout: number;
  /** Seconds requests in flight get to finish on SIGTERM/SIGINT (oslo.service's graceful_shutdown_timeout). */
  gracefulShutdownTimeout: number;
}

export const defaultServerConfig: ServerConfig = {
  stateDir: '/var/lib/neutrino',
  host: '127.0.0.1',
  port: 9696,
  tenantNetworkTypes: ['vxlan'],
  vniRanges: [[1, 1000]],
  flatNetworks: ['provider'],
  physicalMtu: 1500,
  tokenTtlSeconds: 3600,
  maxRequestBodyBytes: 114688,
  agentDownTime: 75,
  // Lockout off, as in Keystone: it lets anyone who knows a user's name lock that user (the admin,
  // an agent's service user) out. The back-off is on: it slows guessing to one try per few seconds
  // per user without refusing the right password for long.
  lockoutFailureAttempts: null,
  lockoutDuration: 1800,
  failureBackoffMax: 5,
  failureBackoffInitialMs: 200,
  changeFeedWindow: 10000,
  headerTimeout: 20,
  requestTimeout: 60,
  keepaliveTimeout: 30,
  gracefulShutdownTimeout: 5,
};

export function publicUrl(config: ServerConfig): string {
  return (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
}
