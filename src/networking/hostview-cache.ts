// The host views this server process last sent, so the next answer to the same agent can be a delta
// (model/hostview-delta.ts). Each view sent gets a tag; an agent names the tag and revision of the
// view it holds, and only a view held here under that tag is a base for a delta. In memory, per
// process: after a restart, on another worker, or once evicted, the agent gets a whole view again.
import { randomBytes } from 'node:crypto';
import type { HostView } from '../model/hostview.ts';
import type { HostViewDeps } from '../model/hostview-deps.ts';

/** A view sent, and what it was built from (which changes can alter it). */
export interface HeldView {
  view: HostView;
  deps: HostViewDeps;
}

interface Held extends HeldView {
  tag: string;
}

/** Views kept per host: the last two, so two watchers of one host (an agent and a tool) do not evict each other at once. */
const PER_HOST = 2;

export class HostViewCache {
  /** Per host, newest last; the Map's order is the hosts' last use (least recent first). */
  private readonly hosts = new Map<string, Held[]>();
  private readonly prefix = randomBytes(6).toString('hex');
  private count = 0;

  private readonly maxHosts: number;

  constructor(maxHosts = 1024) {
    this.maxHosts = maxHosts;
  }

  /** Keeps `view` as sent to an agent of its host; returns the tag the agent names it by. */
  remember(view: HostView, deps: HostViewDeps): string {
    const tag = `${this.prefix}-${++this.count}`;
    const held = (this.hosts.get(view.host) ?? []).concat({ tag, view, deps }).slice(-PER_HOST);
    this.hosts.delete(view.host);
    this.hosts.set(view.host, held);
    if (this.hosts.size > this.maxHosts) this.hosts.delete(this.hosts.keys().next().value!);
    return tag;
  }

  /** The view sent under `tag` to `host`'s agent at `revision`, if still held. */
  lookup(host: string, tag: string, revision: number): HeldView | null {
    const held = this.hosts.get(host)?.find((h) => h.tag === tag);
    return held && held.view.revision === revision ? held : null;
  }
}
