// Named namespaces' `ip` reads (links, addresses, neighbours, routes) kept between full passes. On a
// network node every qrouter-/qdhcp- namespace is read whole at every full pass; most have not
// changed since the last one. HOST's ip watch hears them too (`ip monitor all-nsid`: lines of a
// namespace with an id in HOST, tallied by that id), so a namespace's read holds while the watch has
// heard nothing of it since.
//
// What makes a kept read safe to take again:
// - it is the same namespace: the name still leads to the namespace file (inode) it was read from;
// - HOST knew that namespace by the id the read's mark was taken for, from before the read began:
//   HOST's state read in the same pass names it so, HOST printed nothing in the pass (a new id, or
//   one taken away, is a line of HOST's), and the name led to the same inode at the pass's start
//   (before HOST's read) as at the read's;
// - nothing of that id was heard since the mark (an id taken away is heard too: its mark moves);
// - it is younger than the bound, as HOST's (changes the kernel does not announce).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { IpState } from '../observe/node.ts';

/** What a pass asks of HOST's ip watch. */
export interface NamespacesWatch {
  /** HOST's own mark (ip-watch.ts); null while not listening. */
  mark(): number | null;
  /** The mark of the namespace with id `nsid` in HOST; null while not listening. */
  markOf(nsid: number): string | null;
}

interface Kept {
  ino: number;
  nsid: number;
  mark: string;
  at: number;
  state: IpState;
}

/** What one full pass noted: HOST's mark and the namespaces' inodes at its start, and each read's start. */
export interface NamespacesPass {
  hostMark: number | null;
  inodes: Map<string, number | undefined>;
  started: Map<string, Omit<Kept, 'state'>>;
  read: Map<string, IpState>;
}

/** The inode of a named namespace's file, or undefined when the name is gone. */
export function namespaceInode(dir: string, name: string): number | undefined {
  try {
    return statSync(join(dir, name)).ino;
  } catch {
    return undefined;
  }
}

export class NamespaceIpKeep {
  private readonly kept = new Map<string, Kept>();
  /** name → id in HOST, from the last full pass's HOST state. */
  private hostIds = new Map<string, number>();
  private readonly watch: NamespacesWatch;
  private readonly keptAtMostMs: number;
  private readonly inode: (name: string) => number | undefined;
  /** Reads of named namespaces' `ip` state, and observations that took a kept one instead. */
  readonly reads = { read: 0, kept: 0 };

  constructor(watch: NamespacesWatch, keptAtMostMs: number, inode: (name: string) => number | undefined) {
    this.watch = watch;
    this.keptAtMostMs = keptAtMostMs;
    this.inode = inode;
  }

  /** Before any namespace of the pass, HOST included, is read; `names`: the named ones it reads. */
  beginPass(names: readonly string[]): NamespacesPass {
    const inodes = new Map(names.map((name) => [name, this.inode(name)]));
    return { hostMark: this.watch.mark(), inodes, started: new Map(), read: new Map() };
  }

  /** The kept state of `name` if it still holds (see above), else undefined. */
  take(pass: NamespacesPass, name: string, now = Date.now()): IpState | undefined {
    const k = this.kept.get(name);
    if (pass.hostMark === null || !k) return undefined;
    if (now - k.at >= this.keptAtMostMs || this.watch.markOf(k.nsid) !== k.mark || this.inode(name) !== k.ino) {
      this.kept.delete(name);
      return undefined;
    }
    this.reads.kept++;
    return k.state;
  }

  /** Just before `name` is read: its mark, under the id HOST gave it at the last full pass. */
  beforeRead(pass: NamespacesPass, name: string, now = Date.now()): void {
    this.reads.read++;
    const nsid = this.hostIds.get(name);
    const ino = this.inode(name);
    const mark = nsid === undefined ? null : this.watch.markOf(nsid);
    if (pass.hostMark === null || nsid === undefined || ino === undefined || ino !== pass.inodes.get(name) || mark === null) return;
    pass.started.set(name, { ino, nsid, mark, at: now });
  }

  /** `state` (frozen) was read from `name`. */
  afterRead(pass: NamespacesPass, name: string, state: IpState): void {
    pass.read.set(name, state);
  }

  /**
   * The pass is over; `hostIds` are HOST's namespace ids (id → name) as this pass observed them,
   * undefined when it did not observe HOST. Keeps what the pass read where that is safe.
   */
  endPass(pass: NamespacesPass, hostIds: ReadonlyMap<number, string> | undefined): void {
    if (!hostIds) return;
    this.hostIds = new Map([...hostIds].map(([id, name]) => [name, id]));
    const quiet = pass.hostMark !== null && this.watch.mark() === pass.hostMark;
    for (const [name, state] of pass.read) {
      const start = pass.started.get(name);
      // A name that leads elsewhere after the read is caught by take(): it compares the inode again.
      if (quiet && start && this.hostIds.get(name) === start.nsid) {
        this.kept.set(name, { ...start, state });
      } else {
        this.kept.delete(name);
      }
    }
    for (const name of this.kept.keys()) if (this.inode(name) === undefined) this.kept.delete(name);
  }

  /** Forgets every kept read (our own change may be heard only after the next mark). */
  clear(): void {
    this.kept.clear();
  }
}
