// Wakes the agent when a link appears, changes or disappears in its namespace (`ip -o monitor link`):
// a tap plugged by a hypervisor is wired at once instead of at the next periodic resync.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export class LinkMonitor {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** `onChange` is called at most once per `debounceMs` burst of events. */
  constructor(
    private readonly onChange: () => void,
    private readonly debounceMs = 15,
  ) {}

  start(): void {
    const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', () => {
      if (this.timer) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.onChange();
      }, this.debounceMs);
    });
    // If the monitor dies the periodic resync still converges the node; try again later.
    child.on('exit', () => {
      if (this.child === child) setTimeout(() => this.child === child && this.start(), 5000).unref();
    });
  }

  /** Ends the monitor process; resolves once it has exited. */
  stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (this.timer) clearTimeout(this.timer);
    if (!c || c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill();
    });
  }
}
