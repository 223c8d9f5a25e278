// Wakes the agent when a link appears, changes or disappears in its namespace (`ip -o monitor link`):
// a tap plugged by a hypervisor is wired at once instead of at the next periodic resync. Each wake-up
// names the links the events were about, so the pass can look at those alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Link name → whether it exists after the burst (its last event was not a deletion). */
export type LinkEvents = Map<string, boolean>;

/** The attributes of a link an event shows, those a pass sets (the last event of a burst counts). */
export interface SeenLink {
  up: boolean;
  master: string | null;
  mtu: number | null;
  mac: string | null;
}

/** Link name → the attributes its last event of a burst showed (deletions left out). */
export type SeenLinks = Map<string, SeenLink>;

/** The attributes one `ip -o monitor link` line shows (`<…,UP,…> mtu 1450 … master brqx … link/ether …`). */
export function parseLinkState(line: string): SeenLink | null {
  const flags = /<([^>]*)>/.exec(line);
  if (!flags) return null;
  return {
    up: flags[1]!.split(',').includes('UP'),
    master: / master (\S+)/.exec(line)?.[1] ?? null,
    mtu: Number(/ mtu (\d+)/.exec(line)?.[1] ?? NaN) || null,
    mac: /link\/ether ([0-9a-f:]+)/.exec(line)?.[1] ?? null,
  };
}

/** One `ip -o monitor link` line: `3: tapabc@if2: <…> …`, or `Deleted 3: tapabc@if2: …`. */
export function parseLinkEvent(line: string): { name: string; present: boolean } | null {
  const m = /^(Deleted )?\d+:\s+([^:@\s]+)[:@]/.exec(line);
  return m ? { name: m[2]!, present: m[1] === undefined } : null;
}

/**
 * How long a burst of events may gather before the agent is woken. Short: it is added to every
 * plug → ACTIVE (it was 15 ms: 58 → 48 ms median on the converge bench). Events that come while a
 * pass runs wait for its end anyway, so a thousand new taps are still taken a few passes at a
 * time; a plug's later events (its carrier coming up) show what the pass set and are its echoes.
 */
export const LINK_EVENT_SETTLE_MS = 5;

export class LinkMonitor {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private events: LinkEvents = new Map();
  private seen: SeenLinks = new Map();

  private readonly onChange: (events: LinkEvents, seen: SeenLinks) => void;
  private readonly debounceMs: number;

  /** `onChange` is called at most once per `debounceMs` burst of events, with the links they named and what they showed. */
  constructor(onChange: (events: LinkEvents, seen: SeenLinks) => void, debounceMs = LINK_EVENT_SETTLE_MS) {
    this.onChange = onChange;
    this.debounceMs = debounceMs;
  }

  start(): void {
    const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseLinkEvent(line);
      if (event) {
        this.events.set(event.name, event.present);
        const state = event.present ? parseLinkState(line) : null;
        if (state) this.seen.set(event.name, state);
        else this.seen.delete(event.name);
      }
      if (this.timer) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        const { events, seen } = this;
        this.events = new Map();
        this.seen = new Map();
        this.onChange(events, seen);
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
