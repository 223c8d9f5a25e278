// One bounded tcpdump on one device of one node: started through the node's access (its own
// namespace, or a named one such as qrouter-… entered as src/exec/run.ts does), ready when tcpdump
// says "listening on", stopped by its own PID. The pcap streams back on stdout (`-w -`), so it lands
// in the local capture directory whatever the access (netns or ssh). Bounded three ways: a packet
// count (-c), `timeout` on the node (it holds even if this process dies), and the caller's stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { accessArgv, type NodeAccess } from '../read/access.ts';
import type { CapturePoint } from './probe-plan.ts';

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Capture {
  point: CapturePoint;
  /** the local process (nsenter execs `timeout`, so for netns and local access it is the node's capture itself) */
  pid: number | undefined;
  /** absolute path of the pcap */
  file: string;
  /** resolves when tcpdump listens; rejects with its message when it cannot */
  ready: Promise<void>;
  /** resolves when the process has exited and the pcap is written */
  done: Promise<Exited>;
  stderr(): string;
  child: ChildProcess;
}

export interface CaptureOptions {
  /** absolute path of the pcap to write */
  file: string;
  /** stop after this many packets */
  count: number;
  /** stop after this long, on the node itself */
  timeoutMs: number;
  /** how long tcpdump may take to start listening */
  readyMs?: number;
  sshOptions?: readonly string[];
}

/** The tcpdump argv run on the node (before the access wraps it). */
export function tcpdumpArgv(point: Pick<CapturePoint, 'device' | 'filter'>, count: number, timeoutMs: number): string[] {
  // --immediate-mode: packets reach tcpdump as they come, not when a ring block fills, so a stop right
  // after the last reply loses nothing. SIGINT makes tcpdump flush and close the pcap; `timeout`
  // forwards the caller's SIGINT to it.
  return [
    'timeout',
    '-s',
    'INT',
    String(Math.max(1, Math.ceil(timeoutMs / 1000))),
    'tcpdump',
    '-i',
    point.device,
    '-n',
    '-U',
    '--immediate-mode',
    '-c',
    String(count),
    '-w',
    '-',
    point.filter,
  ];
}

/** The capture as an operator would type it on the node (for evidence). */
export const captureCommand = (point: CapturePoint, count: number) =>
  `${point.namespace ? `ip netns exec ${point.namespace} ` : ''}tcpdump -i ${point.device} -n -c ${count} -w ${point.pcap} '${point.filter}'`;

export function startCapture(access: NodeAccess, point: CapturePoint, o: CaptureOptions): Capture {
  const argv = accessArgv(access.spec, tcpdumpArgv(point, o.count, o.timeoutMs), point.namespace || undefined, o.sshOptions);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
  const out = createWriteStream(o.file);
  child.stdout!.pipe(out);
  let err = '';
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => undefined); // observed by the caller; never an unhandled rejection
  const timer = setTimeout(
    () => readyReject(new Error(`tcpdump did not start listening within ${o.readyMs ?? 10_000} ms`)),
    o.readyMs ?? 10_000,
  );
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    if (/listening on /.test(err)) {
      clearTimeout(timer);
      readyResolve();
    }
  });
  const exited = new Promise<Exited>((res) => {
    child.on('error', (e) => {
      err += `${e.message}\n`;
      res({ code: null, signal: null });
    });
    child.on('close', (code, signal) => res({ code, signal }));
  });
  const done = exited.then(async (x) => {
    clearTimeout(timer);
    readyReject(new Error(firstLine(err) || `tcpdump exited (${x.code ?? x.signal})`));
    await settled(out);
    return x;
  });
  return { point, pid: child.pid, file: o.file, ready, done, stderr: () => err, child };
}

/** The pcap written out; a stream whose source never opened is ended after a moment rather than awaited forever. */
async function settled(out: NodeJS.WritableStream & { writableFinished: boolean; destroyed: boolean; destroy(): void }): Promise<void> {
  if (out.writableFinished || out.destroyed) return;
  await new Promise<void>((res) => {
    const t = setTimeout(() => {
      out.destroy();
      res();
    }, 2000);
    const end = () => {
      clearTimeout(t);
      res();
    };
    out.once('close', end);
    out.once('error', end);
  });
}

const firstLine = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !/^tcpdump: listening on/.test(l)) ?? '';

/** Ends a capture by its PID: SIGINT (tcpdump flushes the pcap), SIGKILL if it has not exited after `graceMs`. */
export async function stopCapture(c: Capture, graceMs = 3000): Promise<Exited> {
  if (c.child.exitCode === null && c.child.signalCode === null && c.pid !== undefined) {
    c.child.kill('SIGINT');
    const t = setTimeout(() => c.child.kill('SIGKILL'), graceMs);
    try {
      return await c.done;
    } finally {
      clearTimeout(t);
    }
  }
  return c.done;
}

export interface Collected {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an argv to its end and returns what it printed, whatever its exit status (ping exits 1 on loss). */
export function collect(argv: readonly string[], timeoutMs: number): Promise<Collected> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (e) => {
      clearTimeout(t);
      resolve({ code: null, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The capture's packets as tcpdump text, read here from the local pcap (`-T vxlan` decodes an underlay's inner frames). */
export async function readCapture(file: string, encapsulated: boolean): Promise<string> {
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return '';
  const r = await collect(['tcpdump', '-r', file, '-n', '-tt', '-e', ...(encapsulated ? ['-T', 'vxlan'] : [])], 30_000);
  // A pcap cut short (the capture killed) still prints the packets before the cut.
  return r.stdout;
}
