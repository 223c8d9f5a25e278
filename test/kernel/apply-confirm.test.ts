// Root test of RealKernel.applyAndObserveSlice: a tap plugged into its bridge and the two links read
// again in one `ip` process, and what it does when the apply's line fails (the same ApplyError as
// apply()), when a read's line fails (the apply went in; null, the caller reads), and when the
// slice or the ops are not of that shape (applied as apply() does; null).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApplyError } from '../../src/exec/kernel.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { run, type Runner } from '../../src/exec/run.ts';
import type { Op } from '../../src/kernel/ops.ts';
import type { ObserveScope } from '../../src/kernel/scope.ts';
import type { Slice } from '../../src/kernel/slice.ts';
import { HOST, type ObservedNode } from '../../src/kernel/types.ts';
import { isRoot } from './sandbox.ts';

const prefix = `ntac-${randomBytes(2).toString('hex')}-`;
const node = `${prefix}node`;
const BRIDGE = 'brqtest0';
const TAP = 'taptest0';

const slice = (links: string[], more: Partial<Slice> = {}): Slice => ({
  links: new Set(links),
  entryDevs: new Set(),
  chains: {},
  chains6: {},
  ipsets: new Set(),
  namespaces: new Set(),
  ...more,
});
const SCOPE: ObserveScope = { host: true, namespaces: [], prefixes: [], sysctls: {}, processes: {} };
const plug = (master: string): Op => ({ op: 'link-set', ns: HOST, name: TAP, set: { master, up: true } });
const unplug: Op = { op: 'link-set', ns: HOST, name: TAP, set: { master: null } };

/**
 * The links of HOST without what may differ between two reads of the same state: the peer, and the
 * operstate, which the kernel's linkwatch sets asynchronously after a carrier change (a bridge's
 * first port plugged may still read DOWN in the same batch and UP a moment later). The agent's
 * decisions do not read the operstate.
 */
const links = (n: ObservedNode) =>
  n.namespaces[HOST]!.links.map((l) => ({ ...l, peer: undefined, operstate: undefined })).sort((a, b) => a.name.localeCompare(b.name));

describe('apply and confirm in one ip batch', { skip: isRoot() ? false : 'needs root (namespaces)' }, () => {
  const spawned: string[][] = [];
  const counting: Runner = (argv, opts) => {
    spawned.push([...argv]);
    return run(argv, opts);
  };
  const k = new RealKernel({ hostNetns: node, run: counting });

  before(async () => {
    await run(['ip', 'netns', 'add', node]);
    await run(['ip', '-batch', '-'], {
      netns: node,
      stdin: `link set lo up\nlink add ${BRIDGE} type bridge\nlink set ${BRIDGE} up\nlink add ${TAP} type veth peer name ${TAP}p\nlink set ${TAP}p up\n`,
    });
  });

  after(async () => {
    if (!/^ntac-[0-9a-f]{4}-$/.test(prefix)) return;
    await run(['ip', 'netns', 'del', node]).catch(() => undefined);
  });

  test('a plug: one ip process applies and reads; the read is what observeSlice reads after it', async () => {
    spawned.length = 0;
    const seen = await k.applyAndObserveSlice([plug(BRIDGE)], slice([BRIDGE, TAP]), SCOPE);
    assert.ok(seen, 'read in the same batch');
    assert.deepEqual(
      spawned.map((a) => a.join(' ')),
      ['ip -j -d -batch -'],
    );
    const tap = seen.namespaces[HOST]!.links.find((l) => l.name === TAP)!;
    assert.equal(tap.master, BRIDGE);
    assert.equal(tap.up, true);
    assert.deepEqual(links(seen), links(await k.observeSlice(slice([BRIDGE, TAP]), SCOPE)));
    await k.apply([unplug]);
  });

  test("the apply's line fails: the same ApplyError as apply(), and nothing read", async () => {
    // Refused by the kernel ("Command failed -:1" follows), and by ip's own argument check (ip exits at once, no line number).
    const tooBig: Op = { op: 'link-set', ns: HOST, name: TAP, set: { mtu: 70000 } };
    for (const op of [tooBig, plug('brqnothere')]) {
      const viaApply = await k.apply([op]).catch((e: unknown) => e);
      assert.ok(viaApply instanceof ApplyError);
      spawned.length = 0;
      const merged = await k.applyAndObserveSlice([op], slice([BRIDGE, TAP]), SCOPE).catch((e: unknown) => e);
      assert.ok(merged instanceof ApplyError, String(merged));
      assert.deepEqual(merged.ops, viaApply.ops);
      assert.equal(spawned.length, 1);
    }
  });

  test("a read's line fails (a link not there): applied, and null so that the caller reads", async () => {
    const seen = await k.applyAndObserveSlice([plug(BRIDGE)], slice([BRIDGE, TAP, 'gonedev0']), SCOPE);
    assert.equal(seen, null);
    const master = JSON.parse((await run(['ip', '-j', 'link', 'show', 'dev', TAP], { netns: node })).stdout)[0].master;
    assert.equal(master, BRIDGE, 'the apply went in');
    await k.apply([unplug]);
  });

  test('a slice that is not HOST links alone: applied as apply() does, null', async () => {
    spawned.length = 0;
    const seen = await k.applyAndObserveSlice([plug(BRIDGE)], slice([BRIDGE, TAP], { chains: { filter: new Set(['FORWARD']) } }), SCOPE);
    assert.equal(seen, null);
    assert.deepEqual(
      spawned.map((a) => a.join(' ')),
      ['ip -batch -'],
    );
    const master = JSON.parse((await run(['ip', '-j', 'link', 'show', 'dev', TAP], { netns: node })).stdout)[0].master;
    assert.equal(master, BRIDGE);
    await k.apply([unplug]);
  });
});
