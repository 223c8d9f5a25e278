// A reader thread (read-threads.ts): its own read-only connection to the SQLite file; for each
// request, one read transaction whose snapshot it reports in commits (commit-clock.ts), one query
// whose rows are one text column, and the texts joined by commas, encoded and handed back without a
// copy. Runs off the server's event loop, so a long list costs the loop nothing.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { snapshotCommits, type CommitClock } from './commit-clock.ts';

export interface ReadRequest {
  id: number;
  sql: string;
  parameters: unknown[];
}
export type ReadReply = { id: number; commits: number | null; body: ArrayBuffer } | { id: number; error: string };
/** The last request: the thread closes its connection and ends by itself (never terminated mid-call, which aborts the process). */
export interface CloseRequest {
  close: true;
}
/** Sent once, when the connection is open and the thread takes requests. */
export interface ReadyNote {
  ready: true;
}

const { file, clock } = workerData as { file: string; clock: CommitClock };

// Below the event loop's thread: on a busy machine a short request runs before a long list's part.
// Linux applies a priority set on a thread's id to that thread alone.
const NICE = 10;
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), NICE);
} catch {
  // Not Linux, or not allowed: the threads run at the process's priority.
}
const conn = new SQLite(file, { readonly: true });
conn.pragma('busy_timeout = 5000');
// A read of the file's first page: the deferred transaction takes its snapshot here.
const open = conn.prepare('select 1 from sqlite_schema limit 1');
const begin = conn.prepare('begin');
const end = conn.prepare('commit');
const OPEN_TRIES = 50;

/** Prepared statements by SQL text: lists come in a few shapes (filters make a few more). */
const statements = new Map<string, SQLite.Statement>();
const MAX_STATEMENTS = 100;
function statement(sql: string): SQLite.Statement {
  let stmt = statements.get(sql);
  if (!stmt) {
    if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value!);
    statements.set(sql, (stmt = conn.prepare(sql).pluck()));
  }
  return stmt;
}

function read({ id, sql, parameters }: ReadRequest): { reply: ReadReply; transfer: ArrayBuffer[] } {
  const stmt = statement(sql);
  // A snapshot taken while a commit was under way holds an unknown number of commits: a commit takes
  // a fraction of a millisecond, so a few fresh snapshots usually find it ended.
  let commits: number | null;
  for (let tries = 1; ; tries++) {
    begin.run();
    commits = snapshotCommits(clock, () => open.get());
    if (commits !== null || tries === OPEN_TRIES) break;
    end.run();
  }
  let texts: string[];
  try {
    texts = stmt.all(...parameters) as string[];
  } finally {
    end.run();
  }
  const joined = texts.join(',');
  // Its own memory (never the shared pool of small buffers), so that it can be handed over.
  const body = Buffer.allocUnsafeSlow(Buffer.byteLength(joined));
  body.write(joined);
  return { reply: { id, commits, body: body.buffer }, transfer: [body.buffer] };
}

parentPort!.on('message', (request: ReadRequest | CloseRequest) => {
  if ('close' in request) {
    // The port left open (closing it drops replies not yet delivered) but no longer holding the
    // thread: it ends once its loop is empty.
    conn.close();
    parentPort!.unref();
    return;
  }
  let out: { reply: ReadReply; transfer: ArrayBuffer[] };
  try {
    out = read(request);
  } catch (e) {
    out = { reply: { id: request.id, error: e instanceof Error ? e.message : String(e) }, transfer: [] };
  }
  parentPort!.postMessage(out.reply, out.transfer);
});
parentPort!.postMessage({ ready: true } satisfies ReadyNote);
