// `neutrino server`: runs the API server until SIGINT/SIGTERM.
import { Option, type Command } from 'commander';
import { defaultServerConfig as d } from '../config.js';
import { loadServerConfig, type ServerFlags } from '../server-config.js';
import { logLevelOption } from './log-level.js';

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
    .description('Run the Networking v2.0 + Identity v3 API server (SQLite state in --state-dir)')
    .option('--config <file>', 'INI file with Neutron option names ([DEFAULT] global_physnet_mtu, [ml2] tenant_network_types, [ml2_type_flat] flat_networks, [ml2_type_vxlan] vni_ranges, [token] expiration, [DEFAULT] agent_down_time); flags win over it')
    .addOption(new Option('--state-dir <dir>', 'directory for the SQLite database').default(d.stateDir))
    .addOption(new Option('--listen <host:port>', 'address to listen on').default(`${d.host}:${d.port}`))
    .option('--listen-unix <path>', 'also serve the API on this Unix socket (for agents in other network namespaces)')
    .option('--public-url <url>', 'base URL clients use to reach this server, when not http://HOST:PORT of --listen')
    .addOption(
      new Option('--bootstrap-admin-password <password>', 'create domain Default, project/user admin and roles on first start').env('NEUTRINO_ADMIN_PASSWORD'),
    )
    .addOption(new Option('--tenant-network-types <types>', 'network types for networks created without provider attributes').default(d.tenantNetworkTypes.join(',')))
    .addOption(new Option('--vni-ranges <ranges>', 'VXLAN VNI ranges for tenant networks, e.g. 1:1000,2000:2999').default(d.vniRanges.map(([lo, hi]) => `${lo}:${hi}`).join(',')))
    .addOption(new Option('--flat-networks <names>', "physical networks usable by flat networks, '*' for any").default(d.flatNetworks.join(',')))
    .addOption(new Option('--physical-mtu <mtu>', 'MTU of the underlay network').default(String(d.physicalMtu)))
    .addOption(new Option('--token-ttl <seconds>', 'token lifetime').default(String(d.tokenTtlSeconds)))
    .addOption(new Option('--agent-down-time <seconds>', 'seconds without a heartbeat after which an agent is shown as dead').default(String(d.agentDownTime)))
    .addOption(logLevelOption())
    .action(async (_flags: unknown, cmd: Command) => {
      const flags = givenOptions<ServerFlags & { bootstrapAdminPassword: string; logLevel: string }>(cmd);
      const config = loadServerConfig(flags);
      // Loaded here, not at the top: the HTTP stack costs every other command ~0.3 s of start-up.
      const { startServer } = await import('../server.js');
      const server = await startServer(config, { bootstrapAdminPassword: flags.bootstrapAdminPassword, logLevel: flags.logLevel ?? 'info' });
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
