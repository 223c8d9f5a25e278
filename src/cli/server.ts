// `neutrino server`: runs the API server until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { loadServerConfig, type ServerFlags } from '../server-config.js';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('Run the Networking v2.0 + Identity v3 API server (SQLite state in --state-dir)')
    .option('--config <file>', 'INI file with Neutron option names ([DEFAULT] global_physnet_mtu, [ml2] tenant_network_types, [ml2_type_flat] flat_networks, [ml2_type_vxlan] vni_ranges, [token] expiration, [DEFAULT] agent_down_time, [identity] lockout_failure_attempts, lockout_duration, failure_backoff_max, [neutrino] change_feed_window, [DEFAULT] graceful_shutdown_timeout, [api] header_timeout, request_timeout, keepalive_timeout)')
    .option('--state-dir <dir>', 'directory for the SQLite database (default /var/lib/neutrino)')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:9696)')
    .option('--listen-unix <path>', 'also serve the API on this Unix socket (for agents in other network namespaces)')
    .option('--public-url <url>', 'base URL clients use to reach this server (default http://HOST:PORT)')
    .option('--bootstrap-admin-password <password>', 'create domain Default, project/user admin and roles on first start (or NEUTRINO_ADMIN_PASSWORD)')
    .option('--tenant-network-types <types>', 'network types for networks created without provider attributes (default vxlan)')
    .option('--vni-ranges <ranges>', 'VXLAN VNI ranges for tenant networks, e.g. 1:1000,2000:2999 (default 1:1000)')
    .option('--flat-networks <names>', "physical networks usable by flat networks, '*' for any (default provider)")
    .option('--physical-mtu <mtu>', 'MTU of the underlay network (default 1500)')
    .option('--token-ttl <seconds>', 'token lifetime (default 3600)')
    .option('--agent-down-time <seconds>', 'seconds without a heartbeat after which an agent is shown as dead (default 75)')
    .option('--lockout-failure-attempts <n>', 'lock a user after N consecutive failed password checks (default: never)')
    .option('--lockout-duration <seconds>', 'how long a locked user stays locked after the last failure (default 1800)')
    .option('--failure-backoff-max <seconds>', "cap of a user's growing delay after failed password checks, 0 = off (default 5)")
    .option('--change-feed-window <revisions>', 'newest change-feed revisions kept; an agent further behind does a full resync (default 10000)')
    .option('--header-timeout <seconds>', 'time a client has to send request headers before it is answered 408 and disconnected (default 20)')
    .option('--request-timeout <seconds>', 'time a client has to send a whole request, headers and body (default 60)')
    .option('--keepalive-timeout <seconds>', 'idle keep-alive connections are closed after this (default 30)')
    .option('--graceful-shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, time requests in flight get to finish (default 5)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .action(async (flags: ServerFlags & { bootstrapAdminPassword?: string; logLevel: string }) => {
      const config = loadServerConfig(flags);
      // Loaded here, not at the top: the HTTP stack costs every other command ~0.3 s of start-up.
      const { startServer } = await import('../server.js');
      const server = await startServer(config, {
        bootstrapAdminPassword: flags.bootstrapAdminPassword ?? process.env.NEUTRINO_ADMIN_PASSWORD,
        logLevel: flags.logLevel,
      });
      // The first signal drains; a second one, with no listener left, ends the process at once.
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(
          () => process.exit(0),
          (e: Error) => {
            process.stderr.write(`neutrino: shutdown failed: ${e.message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
