// `neutrino lab up|status|exec|env|restart-agent|down`: the whole scenario (nodes, provider upstream, server, agents)
// as network namespaces on one machine.
import type { Command } from 'commander';
import { loadLab, nodeNamespace } from '../lab/context.ts';
import { envLines } from '../lab/clouds.ts';
import { inNetns, runInherit } from '../exec/run.ts';
import { labStatus, renderStatus } from '../lab/status.ts';
import { LabUsageError, MAX_NETWORK_NODES, networkNodeName } from '../lab/topology.ts';
import { logLevelOption } from './log-level.ts';
import { Abort } from '../lab/util.ts';
import { commandAfterDashes, labOptions } from './lab-options.ts';

interface LabFlags {
  lab: string;
  stateRoot?: string;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Runs `fn` with Ctrl-C / SIGTERM turned into an orderly abort (so `up` can clean up). */
async function withAbort<T>(fn: (abort: Abort) => Promise<T>): Promise<T> {
  const abort = new Abort();
  const onSignal = (sig: NodeJS.Signals) => abort.trigger(sig);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    return await fn(abort);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

export function registerLabCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description('A Neutron deployment in network namespaces: nodes, provider upstream, server, agents')
    .enablePositionalOptions();

  labOptions(lab.command('up').description('Create the lab: namespaces, cables, server, demo project, one agent per node'))
    .option('--nodes <names>', 'node names, controller first', 'controller,compute1')
    .option('--no-agents', 'do not start the node agents (their configs are still written)')
    .option('--agent-timeout <seconds>', 'how long to wait for every agent to show alive', '30')
    .option(
      '--tenant-network-type <type>',
      "what networks created without provider attributes get: 'vxlan' or 'vlan' (physnet provider)",
      'vxlan',
    )
    .option('--network-nodes <count>', 'network nodes (L3 and DHCP roles): the controller, then network2, network3, …', '1')
    .action(
      async (f: LabFlags & { nodes: string; agents: boolean; agentTimeout: string; tenantNetworkType: string; networkNodes: string }) => {
        const nodes = withNetworkNodes(
          f.nodes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          f.networkNodes,
        );
        const agentTimeoutMs = Number(f.agentTimeout) * 1000;
        if (!(agentTimeoutMs > 0)) throw new LabUsageError(`invalid --agent-timeout '${f.agentTimeout}'`);
        const tenantNetworkType = f.tenantNetworkType;
        if (tenantNetworkType !== 'vxlan' && tenantNetworkType !== 'vlan')
          throw new LabUsageError(`invalid --tenant-network-type '${tenantNetworkType}': 'vxlan' or 'vlan'`);
        // The bring-up (and down, restart, the metadata server) loaded by the commands that run them:
        // `lab env` and `lab status`, run often by scripts, start without them.
        const { labUp } = await import('../lab/up.ts');
        await withAbort((abort) =>
          labUp({ lab: f.lab, nodes, stateRoot: f.stateRoot, agents: f.agents, tenantNetworkType, agentTimeoutMs, print, abort }),
        );
      },
    );

  labOptions(lab.command('status').description("Show the lab's server and node agents"))
    .option('--json', 'print JSON')
    .action(async (f: LabFlags & { json?: boolean }) => {
      const st = await labStatus(loadLab(f));
      process.stdout.write(f.json ? JSON.stringify(st, null, 2) + '\n' : renderStatus(st));
    });

  labOptions(lab.command('exec').description("Run a command in a node's network namespace (or the external host's)"))
    .argument('<node>', "a node name or 'external'")
    .argument('<cmd...>', 'the command, after --')
    .passThroughOptions()
    .action(async (node: string, cmd: string[], f: LabFlags) => {
      const { state } = loadLab(f);
      process.exit(await runInherit(inNetns(commandAfterDashes(cmd), nodeNamespace(state, node))));
    });

  labOptions(lab.command('env').description('Print the shell lines that point the openstack CLI at the lab'))
    .option('--admin', 'as the admin (project admin) instead of the demo user')
    .action((f: LabFlags & { admin?: boolean }) => {
      const { state, paths } = loadLab(f);
      process.stdout.write(envLines(paths.cloudsYaml, f.admin ? `${state.lab}-admin` : state.lab));
    });

  labOptions(lab.command('restart-agent').description("Restart a node's agent: end it by PID, start it again in the node's namespace"))
    .argument('<node>', 'node name')
    .option('--timeout <seconds>', 'how long to wait for its start report', '30')
    .action(async (node: string, f: LabFlags & { timeout: string }) => {
      const timeoutMs = Number(f.timeout) * 1000;
      if (!(timeoutMs > 0)) throw new LabUsageError(`invalid --timeout '${f.timeout}'`);
      const { restartAgent } = await import('../lab/restart.ts');
      const r = await restartAgent(loadLab(f), node, timeoutMs);
      print(`agent of ${node} restarted: pid ${r.pid}${r.previous ? ` (was ${r.previous})` : ''}, start reported after ${r.ms} ms`);
    });

  lab
    .command('metadata-server', { hidden: true })
    .description("Serve instance metadata as Nova's metadata API would (the lab starts it in the controller's namespace)")
    .requiredOption('--lab-dir <dir>', "the lab's directory")
    .requiredOption('--listen <host>', 'the address to listen on (port 8775)')
    .addOption(logLevelOption())
    .action(async (f: { labDir: string; listen: string; logLevel: string }) => {
      const { runLabMetadataServer } = await import('../lab/metadata-server.ts');
      await runLabMetadataServer(f.labDir, f.listen, f.logLevel);
    });

  labOptions(lab.command('down').description('Remove every process, namespace, device and file of the lab')).action(async (f: LabFlags) => {
    const { labDown } = await import('../lab/down.ts');
    await labDown({ lab: f.lab, stateRoot: f.stateRoot, print });
  });
}

/** The nodes with network2…networkN appended for `--network-nodes N` (the controller is the first network node). */
function withNetworkNodes(nodes: string[], count: string): string[] {
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1 || n > MAX_NETWORK_NODES)
    throw new LabUsageError(`invalid --network-nodes '${count}': a number from 1 to ${MAX_NETWORK_NODES}`);
  return [...nodes, ...Array.from({ length: n - 1 }, (_, i) => networkNodeName(i + 2))];
}
