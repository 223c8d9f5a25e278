// Root test of targeted passes on a node namespace with many ports (the agent's pass through
// RealKernel, as a link event and a port create or delete start it): the targeted read of HOST is
// what a full observation cut to the slice shows; one more port gets its chains and joins its
// bridge, and the link events its pass raises are that pass's echoes; deleting it removes its chains
// and rules and nothing else; a full pass then has nothing to do; a node-wide chain that drifted makes
// the targeted deletion fail whole, and the full pass repairs it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { withoutEchoes } from '../../src/agent/link-echoes.ts';
import { parseLinkEvent, parseLinkState, type LinkEvents, type SeenLinks } from '../../src/agent/link-monitor.ts';
import { agentPass, type Facts, type PriorPass } from '../../src/agent/pass.ts';
import { AGENT_NAMESPACE_PREFIXES } from '../../src/agent/namespace-owner.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { run } from '../../src/exec/run.ts';
import { diff } from '../../src/kernel/diff.ts';
import { bridgeName, sgChains, tapName } from '../../src/kernel/names.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { sliceObserved, type Slice } from '../../src/kernel/slice.ts';
import { HOST, type ObservedNode } from '../../src/kernel/types.ts';
import type { PortView } from '../../src/model/hostview.ts';
import { tapDigit } from '../../src/planner/firewall-buckets.ts';
import { digitChain } from '../../src/planner/firewall.ts';
import { computeFacts, FLAT, SG_NET, sgPort, sgView } from '../helpers/sg-view.ts';
import { isRoot } from './sandbox.ts';

const prefix = `ntsl-${randomBytes(2).toString('hex')}-`;
const node = `${prefix}node`;
const MANY = 300;
const hex = (i: number) => i.toString(16).padStart(4, '0');
const mac = (i: number) => `fa:16:3e:01:${hex(i).slice(0, 2)}:${hex(i).slice(2)}`;
/** Most ports without port security (rules in the shared chains only), every tenth with its own chains. */
const port = (i: number): PortView =>
  sgPort(`${hex(i)}bbbb-0000-4000-8000-00000000${hex(i)}`, `172.16.${1 + (i >> 8)}.${(i & 255) + 2}`, mac(i), {
    port_security_enabled: i % 10 === 0,
  });
const PORTS = Array.from({ length: MANY }, (_, i) => port(i));
const NEW = { ...port(MANY), port_security_enabled: true };
const { presentTaps: _unused, ...facts } = computeFacts([]);
const FACTS: Facts = { ...facts, statePath: `/run/${prefix}state` };
const view = (ports: PortView[]) => sgView(ports, undefined, FLAT);

/** A tap as the lab plugs one: a veth end whose peer stays in the node (the instance side is not needed here). */
async function plugTap(p: PortView, peer: string): Promise<void> {
  await run(['ip', '-batch', '-'], {
    netns: node,
    stdin: `link add ${tapName(p.id)} type veth peer name ${peer}\nlink set ${peer} up\nlink set ${tapName(p.id)} up\n`,
  });
}

const iptablesLines = async () =>
  (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout.split('\n').filter((l) => !l.startsWith('#'));

/**
 * `ip -o monitor link` in the node, from once it is listening (an alias set on the test's own
 * eth1p is seen) until stop(): the links its events named and what the last ones showed.
 */
async function watchLinks(): Promise<{ stop: () => Promise<{ events: LinkEvents; seen: SeenLinks }> }> {
  const events: LinkEvents = new Map();
  const seen: SeenLinks = new Map();
  const child = spawn('ip', ['-n', node, '-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = parseLinkEvent(line);
    if (!event) return;
    events.set(event.name, event.present);
    const state = event.present ? parseLinkState(line) : null;
    if (state) seen.set(event.name, state);
    else seen.delete(event.name);
  });
  for (let i = 0; !events.has('eth1p'); i++) {
    if (i === 100) throw new Error('ip monitor link saw nothing');
    await run(['ip', 'link', 'set', 'eth1p', 'alias', `ready${i}`], { netns: node });
    await new Promise((r) => setTimeout(r, 50));
  }
  events.clear();
  seen.clear();
  return {
    stop: async () => {
      // Events come a moment after the change that raised them.
      await new Promise((r) => setTimeout(r, 300));
      await new Promise((r) => {
        child.once('exit', r);
        child.kill();
      });
      return { events, seen };
    },
  };
}

/** For comparing a targeted read with a full one: peers of taps whose other end is outside the slice stay unresolved there. */
function comparable(n: ObservedNode): unknown {
  const host = structuredClone(n.namespaces[HOST]!);
  for (const l of host.links) delete l.peer;
  host.links.sort((a, b) => a.name.localeCompare(b.name));
  host.fdb.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  host.addresses.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return host;
}

describe('targeted passes on a node with many ports', { skip: isRoot() ? false : 'needs root (namespaces, iptables)' }, () => {
  const k = new RealKernel({ hostNetns: node });

  before(async () => {
    await run(['ip', 'netns', 'add', node]);
    await run(['ip', '-batch', '-'], {
      netns: node,
      stdin: 'link set lo up\nlink add eth1 type veth peer name eth1p\nlink set eth1 up\nlink set eth1p up\n',
    });
    const lines = PORTS.map(
      (p, i) => `link add ${tapName(p.id)} type veth peer name bp${i}\nlink set bp${i} up\nlink set ${tapName(p.id)} up`,
    );
    await run(['ip', '-batch', '-'], { netns: node, stdin: lines.join('\n') + '\n' });
  });

  after(async () => {
    if (!/^ntsl-[0-9a-f]{4}-$/.test(prefix)) return;
    await run(['ip', 'netns', 'del', node]).catch(() => undefined);
  });

  test('one port plugged, then deleted: only its objects change, and a full pass finds nothing to do', async () => {
    const first = await agentPass(k, view(PORTS), FACTS);
    assert.ok(first.converged, JSON.stringify(first.unresolved));
    assert.equal(first.scope, 'full');
    assert.ok(PORTS.every((p) => first.portStatus[p.id] === 'ACTIVE'));
    const prior = (r: typeof first, events: PriorPass['events'] = new Map()): PriorPass => ({
      desired: r.desired,
      presentTaps: r.presentTaps,
      portStatus: r.portStatus,
      events,
    });
    const savedBefore = await iptablesLines();

    // Bound and plugged in one go (the link event names the tap).
    await plugTap(NEW, 'bpnew');
    const monitor = await watchLinks();
    const plug = await agentPass(k, view([...PORTS, NEW]), FACTS, prior(first, new Map([[tapName(NEW.id), true]])));
    assert.ok(plug.converged, JSON.stringify(plug.unresolved));
    // The link events the pass's own changes raised are its echoes: they would start no pass.
    const echoes = await monitor.stop();
    assert.ok(echoes.events.has(tapName(NEW.id)), 'the tap joining its bridge was seen');
    // (eth1p: the monitor's own readiness probe, whose last event may come late.)
    const changes = [...withoutEchoes(echoes.events, echoes.seen, plug).keys()].filter((name) => name !== 'eth1p');
    assert.deepEqual(changes, []);
    const slice = plug.scope as Slice;
    assert.deepEqual([...slice.links].sort(), [bridgeName(SG_NET), tapName(NEW.id)].sort());
    assert.equal(plug.portStatus[NEW.id], 'ACTIVE');
    assert.ok(PORTS.every((p) => plug.portStatus[p.id] === 'ACTIVE'));
    const master = JSON.parse((await run(['ip', '-j', 'link', 'show', 'dev', tapName(NEW.id)], { netns: node })).stdout)[0].master;
    assert.equal(master, bridgeName(SG_NET));
    const { ingress, egress, spoof } = sgChains(NEW.id);
    const saved = await iptablesLines();
    for (const c of [ingress, egress, spoof]) assert.ok(saved.includes(`:${c} - [0:0]`), c);

    // The targeted read shows what a full observation cut to the slice shows.
    const full = scopeFor(plug.desired, { prefixes: AGENT_NAMESPACE_PREFIXES });
    assert.deepEqual(comparable(await k.observeSlice(slice, full)), comparable(sliceObserved(await k.observe(full), slice)));
    assert.deepEqual(diff(plug.desired, await k.observe(full)).ops, [], 'a full pass has nothing to do');

    // Deleted: back to the chains and rules there were before, line for line.
    const gone = await agentPass(k, view(PORTS), FACTS, prior(plug));
    assert.ok(gone.converged, JSON.stringify(gone.unresolved));
    assert.deepEqual(await iptablesLines(), savedBefore);
    assert.deepEqual(diff(gone.desired, await k.observe(scopeFor(gone.desired, { prefixes: AGENT_NAMESPACE_PREFIXES }))).ops, []);

    // The node-wide chains are not read by a targeted pass: bound again, then one of its rules
    // removed behind the agent's back, its deletion fails as a whole (nothing else goes in its
    // stead) and the full pass that follows repairs the node.
    const again = await agentPass(k, view([...PORTS, NEW]), FACTS, prior(gone));
    assert.ok(again.converged, JSON.stringify(again.unresolved));
    // 300 ports: the no-window chain is split by digit (planner/firewall-buckets.ts).
    const unknownIn = digitChain('unknown-i', tapDigit(tapName(NEW.id))!);
    const drifted = `-m physdev --physdev-in ${tapName(NEW.id)} -j RETURN`;
    assert.ok((await iptablesLines()).includes(`-A ${unknownIn} ${drifted}`));
    await run(['iptables', '-D', unknownIn, ...drifted.split(' ')], { netns: node });
    const lines = await iptablesLines();
    const failed = await agentPass(k, view(PORTS), FACTS, prior(again));
    assert.equal(failed.converged, false);
    assert.deepEqual(await iptablesLines(), lines, 'the failed transaction changed nothing');
    const repaired = await agentPass(k, view(PORTS), FACTS);
    assert.ok(repaired.converged, JSON.stringify(repaired.unresolved));
    assert.deepEqual(await iptablesLines(), savedBefore);
  });
});
