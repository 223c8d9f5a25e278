// What the page shows, kept current: a snapshot read by the tracer's readers (or loaded from a
// recording), turned into the topology and the linked resources. Live, it is re-read every
// `intervalMs` and at once when neutrino's change feed reports a write (a plain Neutron has no such
// feed: then the periodic re-read alone follows it); listeners hear of a change only when the picture
// differs (a cheap diff of the JSON, without the read time).
import type { PortChainMemo } from '../planner/port-memo.ts';
import { contextFrom } from '../trace/run.ts';
import type { ApiClient } from '../trace/read/cloud.ts';
import type { Snapshot } from '../trace/snapshot.ts';
import { buildResources, type Resources } from './resources.ts';
import { buildTopology, type Topology } from './topology.ts';

export interface View {
  topology: Topology;
  resources: Resources;
  /** increases with every change of the picture */
  version: number;
}

export interface ViewSourceOptions {
  /** reads the cloud (gatherSnapshot), or returns the recording */
  read: () => Promise<Snapshot>;
  /** 'live, lab NAME' or 'snapshot DIR' */
  label: string;
  /** re-read period; 0: read once (a snapshot) */
  intervalMs: number;
  /** neutrino's change feed, when the API is neutrino's */
  feed?: ApiClient;
  onError?: (e: Error) => void;
}

/** `memos`: kept by a live source across its re-reads, so that only changed ports' chains are planned again. */
export function viewOf(snapshot: Snapshot, label: string, memos?: Map<string, PortChainMemo>): Omit<View, 'version'> {
  const topology = buildTopology(contextFrom(snapshot, label, memos));
  return { topology, resources: buildResources(snapshot.api, topology) };
}

const fingerprint = (v: Omit<View, 'version'>) => JSON.stringify({ ...v, topology: { ...v.topology, readAt: '' } });

export class ViewSource {
  private current: View | null = null;
  private recorded: Snapshot | null = null;
  private last = '';
  private listeners = new Set<(v: View) => void>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private reading: Promise<void> | null = null;
  private again = false;
  private readonly memos = new Map<string, PortChainMemo>();

  private readonly o: ViewSourceOptions;

  constructor(o: ViewSourceOptions) {
    this.o = o;
  }

  async start(): Promise<View> {
    await this.refresh();
    if (this.o.intervalMs > 0) this.schedule();
    if (this.o.feed) void this.watchFeed(this.o.feed);
    return this.current!;
  }

  view(): View | null {
    return this.current;
  }

  /** The snapshot the current view was built from (traces are walked on it). */
  snapshot(): Snapshot | null {
    return this.recorded;
  }

  get label(): string {
    return this.o.label;
  }

  subscribe(f: (v: View) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One re-read at a time; a request during a read asks for one more after it. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          const snapshot = await this.o.read();
          const next = viewOf(snapshot, this.o.label, this.memos);
          this.recorded = snapshot;
          const f = fingerprint(next);
          if (f !== this.last) {
            this.last = f;
            this.current = { ...next, version: (this.current?.version ?? 0) + 1 };
            for (const l of this.listeners) l(this.current);
          }
        } catch (e) {
          if (!this.current) throw e;
          this.o.onError?.(e as Error);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.reading = null));
    return this.reading;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), this.o.intervalMs);
    this.timer.unref();
  }

  /** Long-polls the change feed; any change triggers a re-read. Gives up quietly where there is none. */
  private async watchFeed(feed: ApiClient): Promise<void> {
    let since: number;
    try {
      // The head revision, as an agent starts from: a host view is consistent with it.
      since = (await feed.get<{ view: { revision: number } }>('/v2.0/neutrino/hosts/neutrino-web/view')).view.revision;
    } catch {
      return; // no feed here (not neutrino's API): the periodic re-read follows the cloud
    }
    while (!this.stopped) {
      try {
        const page = await feed.get<{ revision: number; changes: unknown[] }>(`/v2.0/neutrino/changes?since=${since}&wait=20`);
        if (page.changes.length) void this.refresh();
        since = page.revision;
      } catch (e) {
        if (this.stopped) return;
        this.o.onError?.(e as Error);
        await new Promise((r) => setTimeout(r, 1000).unref());
        try {
          since = (await feed.get<{ view: { revision: number } }>('/v2.0/neutrino/hosts/neutrino-web/view')).view.revision;
        } catch {
          /* retried on the next turn */
        }
      }
    }
  }
}
