// When a named namespace's `ip` read is kept between full passes, and when it is not: the watch's
// marks, HOST's namespace ids and the namespace file's inode, each moved on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceIpKeep, type NamespacesWatch } from '../../src/exec/ns-ip-keep.ts';
import { lineNamespace } from '../../src/exec/ip-watch.ts';
import type { IpState } from '../../src/observe/node.ts';

const BOUND = 30_000;

/** HOST's ip watch, with its marks moved by hand. */
class FakeWatch implements NamespacesWatch {
  host: number | null = 0;
  private readonly byId = new Map<number, number>();
  mark(): number | null {
    return this.host;
  }
  markOf(nsid: number): string | null {
    return this.host === null ? null : `1/${this.byId.get(nsid) ?? 0}`;
  }
  /** A line of the namespace with this id. */
  hear(nsid: number): void {
    this.byId.set(nsid, (this.byId.get(nsid) ?? 0) + 1);
  }
}

function setup() {
  const watch = new FakeWatch();
  const inodes = new Map<string, number>([['qrouter-a', 100]]);
  const keep = new NamespaceIpKeep(watch, BOUND, (name) => inodes.get(name));
  const state = (tag: string): IpState => ({ links: [], addresses: [], routes: [], neigh: [], nsids: new Map([[99, tag]]) });
  const ids = new Map([[3, 'qrouter-a']]);
  /** One full pass that reads qrouter-a unless kept; `before` runs before the read, `during` after it. */
  const pass = (opts: { at?: number; hostIds?: Map<number, string>; before?: () => void; during?: () => void } = {}) => {
    const p = keep.beginPass(['qrouter-a']);
    opts.before?.();
    const at = opts.at ?? 0;
    const kept = keep.take(p, 'qrouter-a', at);
    if (!kept) {
      keep.beforeRead(p, 'qrouter-a', at);
      keep.afterRead(p, 'qrouter-a', state(`read at ${at}`));
    }
    opts.during?.();
    keep.endPass(p, opts.hostIds ?? ids);
    return kept;
  };
  return { watch, inodes, keep, pass };
}

test("a namespace's read is kept from the second pass that knows its id, and taken while nothing is heard", () => {
  const { keep, pass } = setup();
  assert.equal(pass({ at: 0 }), undefined, 'first pass: its id in HOST is not known before the read');
  assert.equal(pass({ at: 1 }), undefined, 'second pass: read, and kept');
  assert.equal(pass({ at: 2 })?.nsids.get(99), 'read at 1');
  assert.equal(pass({ at: 3 })?.nsids.get(99), 'read at 1');
  assert.deepEqual(keep.reads, { read: 2, kept: 2 });
});

test('a line of the namespace, a kept read too old, or the watch not listening: read again', () => {
  const { watch, keep, pass } = setup();
  pass({ at: 0 });
  pass({ at: 1 });
  watch.hear(3);
  assert.equal(pass({ at: 2 }), undefined, 'heard of');
  assert.equal(pass({ at: 3 })?.nsids.get(99), 'read at 2');
  assert.equal(pass({ at: 2 + BOUND }), undefined, 'older than the bound');
  watch.hear(4);
  assert.ok(pass({ at: 3 + BOUND }), 'a line of another namespace changes nothing here');
  watch.host = null;
  assert.equal(pass({ at: 4 + BOUND }), undefined, 'not listening');
  watch.host = 0;
  assert.equal(pass({ at: 5 + BOUND }), undefined, 'nothing was kept while not listening');
  assert.ok(pass({ at: 6 + BOUND }));
  keep.clear();
  assert.equal(pass({ at: 7 + BOUND }), undefined, 'cleared (an apply)');
});

test('not kept when HOST changed during the pass, names another id, or the name led elsewhere', () => {
  {
    const { watch, pass } = setup();
    pass();
    assert.equal(pass({ during: () => (watch.host = 1) }), undefined);
    assert.equal(pass(), undefined, 'HOST printed something during the pass: its ids may have moved');
    assert.ok(pass());
  }
  {
    const { pass } = setup();
    pass();
    assert.equal(pass({ hostIds: new Map([[5, 'qrouter-a']]) }), undefined);
    assert.equal(pass(), undefined, 'HOST gave it another id than the mark was taken for');
  }
  {
    const { inodes, pass } = setup();
    pass();
    assert.equal(pass({ during: () => inodes.set('qrouter-a', 101) }), undefined);
    assert.equal(pass(), undefined, 'the name led to another namespace during the read');
    assert.ok(pass());
    assert.equal(pass({ before: () => inodes.set('qrouter-a', 103) }), undefined, 'made again since the last pass');
    assert.equal(pass({ before: () => inodes.set('qrouter-a', 104) }), undefined);
    assert.equal(pass(), undefined, "made again after the pass began: HOST's ids may name the namespace it replaced");
    assert.ok(pass());
    inodes.set('qrouter-a', 102);
    assert.equal(pass(), undefined, 'the name made again since the read');
    assert.ok(pass());
    inodes.delete('qrouter-a');
    assert.equal(pass(), undefined, 'gone');
  }
});

test('the namespace of a line of ip monitor all-nsid', () => {
  assert.deepEqual(lineNamespace('[nsid current][LINK]2: va@if2: <UP>'), { nsid: null, body: '[LINK]2: va@if2: <UP>' });
  assert.deepEqual(lineNamespace('[nsid 12][ADDR]2: va    inet 10.9.9.2/24'), { nsid: 12, body: '[ADDR]2: va    inet 10.9.9.2/24' });
  assert.deepEqual(lineNamespace('[ROUTE]10.0.0.0/8 dev x'), { nsid: null, body: '[ROUTE]10.0.0.0/8 dev x' });
});
