// `neutrino agent`: runs the node agent (L2, DHCP, L3 roles) until SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import pino from 'pino';
import { Agent } from '../agent/agent.ts';
import { AgentConfigError, parseAgentConfig, serverUrlsOf, type AgentConfig } from '../agent/config.ts';
import { AGENT_OPTIONS, optionWarnings } from '../config/option-catalog.ts';
import { NeutrinoClient } from '../client/neutrino.ts';
import { RealKernel } from '../exec/real.ts';
import { logLevelOption } from './log-level.ts';
import { parseListen } from '../config/listen.ts';

interface AgentFlags {
  config: string;
  host?: string;
  metricsListen?: string;
  logLevel: string;
}

/**
 * The agent's client of the server: [neutrino] server_url; its login with [neutrino] username,
 * password, project (and their domains) at the server's identity or, behind Keystone, at
 * [neutrino] auth_url or the Keystone the server names.
 */
export function agentClient(cfg: AgentConfig, configFile: string): NeutrinoClient {
  const endpoints = serverUrlsOf(cfg).map((url) => ({
    url,
    hint: `is \`neutrino server\` running there? check [neutrino] server_url in ${configFile}`,
    credentialsHint: `check [neutrino] username, password and project in ${configFile}`,
  }));
  return new NeutrinoClient(endpoints, {
    username: cfg.username,
    password: cfg.password,
    project: cfg.project,
    userDomain: cfg.userDomainName,
    projectDomain: cfg.projectDomainName,
    authUrl: cfg.authUrl,
  });
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description("Run the node agent: Linux bridge (L2) always, DHCP and L3 where configured; reads Neutron's linuxbridge_agent.ini layout")
    .requiredOption(
      '--config <file>',
      'agent INI file ([DEFAULT] host, state_path; [neutrino] server_url, username, password, project, user_domain_name, project_domain_name, auth_url, roles; [linux_bridge] physical_interface_mappings, bridge_mappings; [vxlan] local_ip; [DEFAULT] graceful_shutdown_timeout)',
    )
    .option('--host <name>', 'host name reported to the server (overrides [DEFAULT] host)')
    .option(
      '--metrics-listen <host:port>',
      'serve Prometheus metrics at /metrics on this address, without a token (off unless given; choose an address only monitoring reaches)',
    )
    .addOption(logLevelOption())
    .action(async (flags: AgentFlags) => {
      // V8 then sizes its heap for memory rather than speed: the agent keeps a few MiB alive, and its
      // resident memory after passes on a 1,000-port node drops by about a fifth (measured: 111–121 →
      // 94–98 MiB). Not allowed in NODE_OPTIONS, hence set here, where every way of starting the agent passes.
      setFlagsFromString('--optimize-for-size');
      let text: string;
      try {
        text = readFileSync(flags.config, 'utf8');
      } catch (e) {
        throw new AgentConfigError(`cannot read ${flags.config}: ${(e as Error).message}`);
      }
      const overrides: Partial<AgentConfig> = flags.host ? { host: flags.host } : {};
      const cfg = parseAgentConfig(text, overrides);
      const log = pino({ level: flags.logLevel, base: { service: 'neutrino-agent', host: cfg.host } });
      const client = agentClient(cfg, flags.config);
      const metricsAt = flags.metricsListen ? parseListen(flags.metricsListen, '--metrics-listen') : null;
      // prom-client and the listener are loaded only by an agent that serves metrics (resident memory).
      const served = metricsAt ? await Promise.all([import('../agent/metrics.ts'), import('../metrics/listener.ts')]) : null;
      const metrics = served ? new served[0].AgentMetrics() : undefined;
      const listener =
        metricsAt && metrics && served
          ? await served[1].startMetricsListener(
              metricsAt.host,
              metricsAt.port,
              async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
              (err) => log.error({ err }, 'metrics scrape failed'),
            )
          : null;
      if (listener) log.info({ address: listener.address }, 'metrics served without a token');
      // Only a node with qrouter-/qdhcp- namespaces listens to other namespaces (ns-ip-keep.ts).
      const watchNamespacesIp = cfg.roles.includes('l3') || cfg.roles.includes('dhcp');
      const kernel = new RealKernel({ watchRuleset: true, watchIp: true, watchNamespacesIp });
      metrics?.watchKernelReads(() => kernel.readCounts());
      const agent = new Agent(cfg, client, kernel, log, metrics);
      // The first signal lets the pass under way finish; a second one, with no listener left, ends the process at once.
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        log.info('stopping after the pass under way');
        agent.stop();
        setTimeout(() => {
          log.error({ seconds: cfg.gracefulShutdownTimeout }, 'the pass did not finish within graceful_shutdown_timeout; exiting mid-pass');
          process.exit(1);
        }, cfg.gracefulShutdownTimeout * 1000).unref();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      for (const w of optionWarnings(flags.config, text, AGENT_OPTIONS)) log.warn(w);
      log.info({ roles: cfg.roles, localIp: cfg.localIp }, 'neutrino agent starting');
      await agent.run();
      await kernel.close();
      await listener?.close();
      log.info('neutrino agent stopped');
      process.exit(0);
    });
}
