// `neutrino server`: runs the API server until SIGINT/SIGTERM.
import { Option, type Command } from 'commander';
import { defaultServerConfig as d, loadServerConfig, type ServerFlags } from '../server-config.ts';
import { logLevelOption } from './log-level.ts';

/**
 * The options given on the command line or by environment: Commander fills in defaults (so that
 * --help shows them), but a default must not override the --config file's value.
 */
function givenOptions<T extends object>(cmd: Command): Partial<T> {
  return Object.fromEntries(Object.entries(cmd.opts()).filter(([k]) => cmd.getOptionValueSource(k) !== 'default')) as Partial<T>;
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description(
      'Run the Networking v2.0 + Identity v3 API server (state in SQLite in --state-dir, or in PostgreSQL with --db); behind an existing Keystone with auth_strategy = keystone, Networking v2.0 only',
    )
    .option(
      '--config <file>',
      'INI file with Neutron option names ([database] connection, [DEFAULT] api_workers, global_physnet_mtu, [ml2] tenant_network_types, [ml2_type_flat] flat_networks, [ml2_type_vxlan] vni_ranges, [token] expiration, [DEFAULT] agent_down_time, [identity] lockout_failure_attempts, lockout_duration, failure_backoff_max, password_hash_rounds, [neutrino] change_feed_window, [DEFAULT] graceful_shutdown_timeout, [api] header_timeout, request_timeout, keepalive_timeout, [DEFAULT] auth_strategy, [keystone_authtoken] www_authenticate_uri, auth_url, auth_type, username, password, project_name, user_domain_name, project_domain_name, token_cache_time, http_connect_timeout, [DEFAULT] notify_nova_on_port_status_changes, notify_nova_on_port_data_changes, send_events_interval, http_retries, [nova] auth_url, auth_type, username, password, project_name, user_domain_name, project_domain_name, region_name, endpoint_type, timeout, [neutrino] catalog_compute_url); flags win over it',
    )
    .addOption(
      new Option(
        '--auth-strategy <strategy>',
        "who checks tokens: 'builtin' (this server's Identity v3 at /identity/v3) or 'keystone' (an existing Keystone, set in the --config file's [keystone_authtoken]; the built-in Identity API is then off and its paths answer 404)",
      )
        .choices(['builtin', 'keystone'])
        .default(d.authStrategy),
    )
    .addOption(new Option('--state-dir <dir>', 'directory for the SQLite database').default(d.stateDir))
    .option(
      '--db <url>',
      "database shared by every server process instead of --state-dir's SQLite file, as Neutron's [database] connection: postgresql://USER:PASSWORD@HOST/DATABASE",
    )
    .addOption(new Option('--listen <host:port>', 'address to listen on').default(`${d.host}:${d.port}`))
    .addOption(
      new Option('--workers <n>', 'API worker processes sharing the listening address (more than one needs --db PostgreSQL)').default(
        String(d.workers),
      ),
    )
    .option('--listen-unix <path>', 'also serve the API on this Unix socket (for agents in other network namespaces)')
    .option(
      '--metrics-listen <host:port>',
      'also serve Prometheus metrics at /metrics on this address, without a token (choose one only monitoring reaches); the API listener serves them to admins',
    )
    .option('--public-url <url>', 'base URL clients use to reach this server, when not http://HOST:PORT of --listen')
    .addOption(
      new Option('--bootstrap-admin-password <password>', 'create domain Default, project/user admin and roles on first start').env(
        'NEUTRINO_ADMIN_PASSWORD',
      ),
    )
    .addOption(
      new Option('--tenant-network-types <types>', 'network types for networks created without provider attributes').default(
        d.tenantNetworkTypes.join(','),
      ),
    )
    .addOption(
      new Option('--vni-ranges <ranges>', 'VXLAN VNI ranges for tenant networks, e.g. 1:1000,2000:2999').default(
        d.vniRanges.map(([lo, hi]) => `${lo}:${hi}`).join(','),
      ),
    )
    .addOption(
      new Option('--flat-networks <names>', "physical networks usable by flat networks, '*' for any").default(d.flatNetworks.join(',')),
    )
    .option(
      '--network-vlan-ranges <ranges>',
      'physical networks for VLAN networks, each with tenant VLAN ranges: physnet1:100:199,physnet2',
    )
    .option('--physical-network-mtus <mtus>', 'MTU of physical networks whose MTU is not the underlay MTU: physnet1:9000')
    .addOption(new Option('--physical-mtu <mtu>', 'MTU of the underlay network').default(String(d.physicalMtu)))
    .addOption(new Option('--token-ttl <seconds>', 'token lifetime').default(String(d.tokenTtlSeconds)))
    .addOption(
      new Option('--agent-down-time <seconds>', 'seconds without a heartbeat after which an agent is shown as dead').default(
        String(d.agentDownTime),
      ),
    )
    .option('--lockout-failure-attempts <n>', 'lock a user after N consecutive failed password checks (unset: never)')
    .addOption(
      new Option('--lockout-duration <seconds>', 'how long a locked user stays locked after the last failure').default(
        String(d.lockoutDuration),
      ),
    )
    .addOption(
      new Option('--failure-backoff-max <seconds>', "cap of a user's growing delay after failed password checks, 0 = off").default(
        String(d.failureBackoffMax),
      ),
    )
    .addOption(
      new Option(
        '--password-hash-rounds <rounds>',
        "cost of new password hashes: scrypt's N = 2^rounds, 1-20 (existing hashes keep theirs)",
      ).default(String(d.passwordHashRounds)),
    )
    .addOption(
      new Option(
        '--change-feed-window <revisions>',
        'newest change-feed revisions kept; an agent further behind does a full resync',
      ).default(String(d.changeFeedWindow)),
    )
    .addOption(
      new Option(
        '--header-timeout <seconds>',
        'time a client has to send request headers before it is answered 408 and disconnected',
      ).default(String(d.headerTimeout)),
    )
    .addOption(
      new Option('--request-timeout <seconds>', 'time a client has to send a whole request, headers and body').default(
        String(d.requestTimeout),
      ),
    )
    .addOption(
      new Option('--keepalive-timeout <seconds>', 'idle keep-alive connections are closed after this').default(String(d.keepaliveTimeout)),
    )
    .addOption(
      new Option('--graceful-shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, time requests in flight get to finish').default(
        String(d.gracefulShutdownTimeout),
      ),
    )
    .addOption(logLevelOption())
    .action(async (_flags: unknown, cmd: Command) => {
      const flags = givenOptions<ServerFlags & { bootstrapAdminPassword: string; logLevel: string }>(cmd);
      const config = loadServerConfig(flags);
      if (config.workers > 1) {
        const { isWorkerProcess, superviseWorkers } = await import('../server-workers.ts');
        if (!isWorkerProcess()) {
          const log = (m: string) => process.stderr.write(`neutrino server: ${m}\n`);
          const { serveClusterMetrics } = await import('../metrics/primary.ts');
          const metrics = await serveClusterMetrics(config.metricsListen, log);
          const status = await superviseWorkers({ workers: config.workers, unixSocket: config.unixSocket, log });
          await metrics?.close();
          process.exit(status);
        }
      }
      // Loaded here, not at the top: the HTTP stack costs every other command ~0.3 s of start-up.
      const { startServer } = await import('../server.ts');
      const server = await startServer(config, {
        bootstrapAdminPassword: flags.bootstrapAdminPassword,
        logLevel: flags.logLevel ?? 'info',
      });
      // The first signal drains; a second one, with no listener left, ends the process at once.
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
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
      if (config.workers > 1) (await import('../server-workers.ts')).onStopRequest(stop);
    });
}
