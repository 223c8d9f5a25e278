// Wakes the agent when a link appears, changes or disappears in its namespace (`ip -o monitor link`):
// a tap plugged by a hypervisor is wired at once instead of at the next periodic resync. Each wake-up
// names the links the events were about, so the pass can look at those alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Link name → whether it exists after the burst (its last event was not a deletion). */
export type LinkEvents = Map<string, boolean>;

/** One `ip -o monitor link` line: `3: tapabc@if2: <…> …`, or `Deleted 3: tapabc@if2: …`. */
export function parseLinkEvent(line: string): { name: string; present: boolean } | null {
  const m = /^(Deleted )?\d+:\s+([^:@\s]+)[:@]/.exec(line);
  return m ? { name: m[2]!, present: m[1] === undefined } : null;
}

export class LinkMonitor {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private events: LinkEvents = new Map();

  /** `onChange` is called at most once per `debounceMs` burst of events, with the links they named. */
  constructor(
    private readonly onChange: (events: LinkEvents) => void,
    private readonly debounceMs = 15,
  ) {}

  start(): void {
    const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseLinkEvent(line);
      if (event) this.events.set(event.name, event.present);
      if (this.timer) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        const events = this.events;
        this.events = new Map();
        this.onChange(events);
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
