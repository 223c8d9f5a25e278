// `neutrino web`: the cloud's network as a live picture in a browser, read by the tracer's readers
// (the same access options as `neutrino trace`), or a recorded snapshot offline. Read-only.
import type { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseListen } from '../config/listen.ts';
import { cloudApiClient, resolveCloud } from '../trace/read/cloud.ts';
import { cliTargets, gatherSnapshot, type LabSource } from '../trace/read/gather.ts';
import { loadSnapshot } from '../trace/read/snapshot-io.ts';
import { fipProbeOptions, gatherOptions, labOf, TraceUsageError, type AccessOptions } from '../trace/run.ts';
import { probeFip, type ProbeOptions } from '../trace/probe/probe.ts';
import type { TraceReport } from '../trace/report.ts';
import { startWebServer } from '../web/server.ts';
import { ViewSource, type ViewSourceOptions } from '../web/state.ts';
import { accessOptions, failWith, pairs } from './trace.ts';
import { labApiClient, traceLabs } from './trace-lab.ts';

export const DEFAULT_WEB_LISTEN = '127.0.0.1:8080';

/**
 * A page's probe: the page shows the counts, never the pcaps, so each probe's captures go to a
 * directory of their own, removed once counted (a long-running server would otherwise fill the
 * temp directory, one directory per click).
 */
async function probeKeepingNothing(report: TraceReport, options: ProbeOptions): Promise<TraceReport> {
  const captureDir = await mkdtemp(join(tmpdir(), 'neutrino-web-probe-'));
  try {
    const probed = await probeFip(report, { ...options, captureDir });
    if (!probed.probe) return probed;
    const { captureDir: _gone, ...probe } = probed.probe;
    return { ...probed, probe };
  } finally {
    await rm(captureDir, { recursive: true, force: true });
  }
}

/** How the picture is read: a recording once, or the live cloud every `intervalMs` (and on its change feed). */
async function viewSourceOptions(
  o: AccessOptions,
  snapshot: string | undefined,
  intervalMs: number,
  stateRoot?: string,
): Promise<ViewSourceOptions> {
  if (snapshot) return { read: () => loadSnapshot(snapshot), label: `snapshot ${snapshot}`, intervalMs: 0 };
  const lab = labOf(o);
  if (lab !== undefined) {
    const feed = labApiClient({ lab, stateRoot }).client;
    // Re-resolved on every read: the lab's nodes are read from its state as they are now.
    return { read: () => gatherSnapshot(gatherOptions(o, lab)), label: `live, lab ${lab}`, intervalMs, feed };
  }
  // A cloud: log in once, then reuse the session for every re-read.
  const { client, source } = await cloudApiClient(resolveCloud(o.cloud ? { cloud: o.cloud } : {}));
  const cloud: LabSource = {
    client,
    source,
    targets: cliTargets({ nodes: o.nodes, agentConfigs: o.agentConfigs, instancesPaths: o.instancesPaths }),
  };
  return { read: () => gatherSnapshot({ lab: cloud }), label: `live, ${source.endpoint}`, intervalMs };
}

export function registerWebCommand(program: Command): void {
  const web = program
    .command('web')
    .description(
      "The cloud's network as a live picture in a browser: every node, namespace, bridge, veth and VXLAN tunnel, expected vs observed, with traces drawn on it",
    )
    .option('--listen <host:port>', 'where to serve the page (localhost only by default)', DEFAULT_WEB_LISTEN)
    .option('--interval <ms>', 'how often the nodes are re-read, in milliseconds', '1000')
    .option('--snapshot <dir>', 'show a snapshot recorded with `neutrino trace … --record DIR`, offline')
    .option(
      '--allow-probe',
      "let the page probe a floating IP's path with real traffic (as `neutrino trace fip --probe`); read-only without it",
    )
    .option(
      '--from <access>',
      'with --allow-probe: where the probe sends from: local, netns:NAME or ssh:USER@ADDRESS; in a lab, without it: its external host',
    );
  accessOptions(web).action(async (f: Record<string, unknown>) => {
    try {
      const listen = parseListen(f.listen as string);
      const interval = Number(f.interval);
      if (!Number.isInteger(interval) || interval < 100)
        throw new TraceUsageError(`--interval must be 100 ms or more, got '${String(f.interval)}'`);
      const labs = traceLabs(f.stateRoot as string | undefined);
      const access: AccessOptions = {
        lab: f.lab as string | undefined,
        labs,
        cloud: f.cloud as string | undefined,
        nodes: pairs(f.node as string[] | undefined, '--node'),
        agentConfigs: pairs(f.agentConfig as string[] | undefined, '--agent-config'),
        instancesPaths: pairs(f.instancesPath as string[] | undefined, '--instances-path'),
      };
      const snapshot = f.snapshot as string | undefined;
      if (snapshot && (access.lab !== undefined || access.cloud !== undefined || Object.keys(access.nodes).length > 0))
        throw new TraceUsageError('--snapshot shows a recording: it takes no --lab, --cloud or --node');
      if (access.lab !== undefined && (access.cloud !== undefined || Object.keys(access.nodes).length > 0))
        throw new TraceUsageError('--lab reads the lab itself: it takes no --cloud or --node');
      const options = await viewSourceOptions(access, snapshot, interval, f.stateRoot as string | undefined);
      const source = new ViewSource({ ...options, onError: (e) => process.stderr.write(`neutrino web: re-read failed: ${e.message}\n`) });
      await source.start();
      const allowProbe = !!f.allowProbe;
      if (f.from !== undefined && !allowProbe) throw new TraceUsageError('--from says where probes send from: it goes with --allow-probe');
      if (allowProbe && snapshot) throw new TraceUsageError('--allow-probe sends real traffic: a --snapshot has none to probe');
      const from = f.from as string | undefined;
      if (allowProbe && access.lab === undefined && from === undefined)
        throw new TraceUsageError(
          '--allow-probe on a cloud needs --from ACCESS: where to send the traffic from, on the provider network side',
        );
      const server = await startWebServer(
        source,
        listen,
        allowProbe ? { probe: (report, snap) => probeKeepingNothing(report, fipProbeOptions(snap, { from, labs })) } : {},
      );
      process.stdout.write(`neutrino web: ${options.label} at ${server.url}${allowProbe ? ' (probes allowed)' : ''}\n`);
      const stop = () => {
        source.stop();
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    } catch (e) {
      failWith('neutrino web', e);
    }
  });
}
