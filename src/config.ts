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
  headerTimeout: 20,
  requestTimeout: 60,
  keepaliveTimeout: 30,
  gracefulShutdownTimeout: 5,
};

export function publicUrl(config: ServerConfig): string {
  return (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
}
