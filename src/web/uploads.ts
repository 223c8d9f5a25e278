// Recorded snapshots uploaded in the page (a directory `neutrino trace … --record DIR` wrote, its
// files sent as JSON: path → text): checked as `--snapshot DIR` checks them, drawn and traced
// offline. They change nothing in the cloud; the few most recent are kept in memory, by id.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { SnapshotError, snapshotFromFiles } from '../trace/read/snapshot-io.ts';
import type { Snapshot } from '../trace/snapshot.ts';
import { viewOf, type View } from './state.ts';

/** Larger than a recording of a node with thousands of ports (its dump is a few MiB). */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
/** Uploads kept: a page's current one, and a few other tabs'. */
const KEPT = 4;

export interface Upload {
  id: string;
  label: string;
  snapshot: Snapshot;
  view: View;
}

export class UploadError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The request's body as text, refused past `limit` bytes. */
export function readBody(req: http.IncomingMessage, limit = MAX_UPLOAD_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new UploadError(413, `the snapshot is larger than ${limit / 1024 / 1024} MiB`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The files of a body `{"files": {"PATH": "TEXT", …}}`. */
export function filesOf(body: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UploadError(400, 'the body is not JSON: send {"files": {"snapshot.json": "…", "nodes/HOST.json": "…"}}');
  }
  const files = (parsed as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files) || !Object.values(files).every((v) => typeof v === 'string'))
    throw new UploadError(400, 'give "files": an object of each file\'s path and its text');
  return files as Record<string, string>;
}

export class Uploads {
  private kept: Upload[] = [];

  /** Checks and keeps an uploaded snapshot; its view is drawn as a recording's is. */
  async add(files: Record<string, string>, name: string): Promise<Upload> {
    let snapshot: Snapshot;
    try {
      snapshot = await snapshotFromFiles(files);
    } catch (e) {
      if (e instanceof SnapshotError) throw new UploadError(400, `not a recorded snapshot: ${e.message}`);
      throw e;
    }
    const label = `snapshot ${name} (uploaded)`;
    const upload = { id: randomUUID(), label, snapshot, view: { ...viewOf(snapshot, label), version: 1 } };
    this.kept = [upload, ...this.kept].slice(0, KEPT);
    return upload;
  }

  get(id: string): Upload | undefined {
    return this.kept.find((u) => u.id === id);
  }
}
