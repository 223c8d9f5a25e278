// A pass's own changes to links (a tap enslaved, a bridge set up) come back as link events once the
// pass is over. Taken as changes they would start another pass that finds nothing to do, whose
// planning alone grows with the node. An event is an echo when the link it shows already is as the
// last converged pass wanted it; anything else (a link it did not want, another master, a link it
// wanted gone) is a change. Pure.
import { HOST, type DesiredNode, type LinkSpec } from '../kernel/types.ts';
import type { LinkEvents, SeenLink, SeenLinks } from './link-monitor.ts';

/** What an echo is checked against: the last converged pass's desired state and the taps it took as present. */
export interface EchoBase {
  desired: DesiredNode;
  presentTaps: ReadonlySet<string>;
}

const linksByName = new WeakMap<DesiredNode, Map<string, LinkSpec>>();

function wantedLinks(desired: DesiredNode): Map<string, LinkSpec> {
  let byName = linksByName.get(desired);
  if (!byName) {
    byName = new Map((desired.namespaces[HOST]?.links ?? []).map((l) => [l.name, l]));
    linksByName.set(desired, byName);
  }
  return byName;
}

/** Whether a link seen so matches what `wanted` sets of it (an attribute the spec leaves unset is anyone's). */
function matches(wanted: LinkSpec, seen: SeenLink): boolean {
  return (
    (wanted.up === undefined || wanted.up === seen.up) &&
    (wanted.master === undefined || (wanted.master ?? null) === seen.master) &&
    (wanted.mtu === undefined || wanted.mtu === seen.mtu) &&
    (wanted.mac === undefined || wanted.mac.toLowerCase() === seen.mac)
  );
}

/**
 * `events` without the echoes of `base`: a link present and as it wanted it, or gone and neither
 * wanted nor a tap it counted as present.
 */
export function withoutEchoes(events: LinkEvents, seen: SeenLinks, base: EchoBase | null): LinkEvents {
  if (!base) return events;
  const wanted = wantedLinks(base.desired);
  const out: LinkEvents = new Map();
  for (const [name, present] of events) {
    const spec = wanted.get(name);
    const state = seen.get(name);
    const echo = present
      ? spec !== undefined && state !== undefined && matches(spec, state)
      : spec === undefined && !base.presentTaps.has(name);
    if (!echo) out.set(name, present);
  }
  return out;
}
