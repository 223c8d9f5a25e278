// The lab's metadata server process (src/lab/metadata-server.ts): `neutrino lab metadata-server`
// started detached inside the controller's namespace, where nova_metadata_host points, and the wait
// until it listens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns, spawnDetached } from '../exec/run.ts';
import { NEUTRINO_BIN, type LabPaths } from './paths.ts';
import { hasEnded } from './procs.ts';
import { LabError } from './topology.ts';
import { lastLogLine, waitFor, type Abort } from './util.ts';

export const metadataLog = (paths: LabPaths): string => join(paths.logs, 'metadata-server.log');

/** What identifies the lab's metadata server in /proc/<pid>/cmdline. */
export const metadataMarkers = (paths: LabPaths): string[] => ['metadata-server', paths.dir];

/** `nsenter --net=… node bin/neutrino.js lab metadata-server --lab-dir DIR --listen HOST` (pure). */
export function metadataServerArgv(paths: LabPaths, namespace: string, host: string): string[] {
  return inNetns([process.execPath, NEUTRINO_BIN, 'lab', 'metadata-server', '--lab-dir', paths.dir, '--listen', host], namespace);
}

export async function startMetadataServer(paths: LabPaths, namespace: string, host: string, abort: Abort): Promise<number> {
  const log = metadataLog(paths);
  const pid = await spawnDetached(metadataServerArgv(paths, namespace, host), { log });
  await waitFor(
    () => {
      if (hasEnded({ pid, markers: metadataMarkers(paths) }))
        throw new LabError(`the metadata server exited during start-up (${lastLogLine(log)}; log: ${log})`);
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch {
        /* not written yet */
      }
      return Promise.resolve(text.includes('lab metadata server listening') || null);
    },
    {
      timeoutMs: 20_000,
      everyMs: 100,
      abort,
      onTimeout: () => new LabError(`the metadata server did not listen within 20 s (log: ${log})`),
    },
  );
  return pid;
}
