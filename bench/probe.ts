// A running ICMP prober (bench/icmp-probe.py) inside a namespace, its replies kept with their send and
// receive times (Unix ms, sub-ms). The benchmark reads "first reply after t" and "last reply".
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'icmp-probe.py');

/** Wall-clock milliseconds with sub-ms resolution, comparable with the prober's time.time(). */
export const now = () => performance.timeOrigin + performance.now();

export interface Reply {
  seq: number;
  sent: number;
  recv: number;
}

export class Prober {
  readonly replies: Reply[] = [];
  private readonly child: ChildProcess;
  private exited = false;

  /** mode 'new': a new ICMP id (conntrack flow) per probe; 'flow': one id, one long-lived flow. */
  constructor(namespace: string, dst: string, intervalMs: number, mode: 'new' | 'flow') {
    this.child = spawn('nsenter', [`--net=/run/netns/${namespace}`, '--', 'python3', PROBE, dst, String(intervalMs), mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.on('exit', () => (this.exited = true));
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const [seq, sent, recv] = l.split(' ').map(Number);
      this.replies.push({ seq, sent: sent * 1000, recv: recv * 1000 });
    });
  }

  /** The first reply received after `t`. */
  firstAfter(t: number): Reply | undefined {
    return this.replies.find((r) => r.recv > t);
  }

  /** When the last reply arrived (0 when none has). */
  lastRecv(): number {
    return this.replies.at(-1)?.recv ?? 0;
  }

  /** Closing stdin ends the prober; SIGKILL by its own pid if it does not go. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.pid && process.kill(this.child.pid, 'SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
  }
}
