// The commands that build a lab's namespaces and cables from its topology, as argument arrays. Pure.
// Every veth is created with both ends directly inside their namespaces, so no device of the lab
// ever appears in the root namespace, even for a moment.
import type { LabTopology } from './topology.ts';
import { labNamespaces, UPSTREAM_CLIENT } from './topology.ts';

export type Argv = string[];

/** Namespaces first (with lo up), then the switch bridges, then each cable with addresses and links up. */
export function wiringCommands(t: LabTopology): Argv[] {
  const cmds: Argv[] = [];
  for (const ns of labNamespaces(t)) {
    cmds.push(['ip', 'netns', 'add', ns]);
    cmds.push(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const sw = t.switchNamespace;
  for (const bridge of [t.switchBridge, t.providerBridge]) {
    cmds.push(['ip', '-n', sw, 'link', 'add', bridge, 'type', 'bridge']);
    cmds.push(['ip', '-n', sw, 'link', 'set', bridge, 'up']);
  }
  for (const { a, b } of t.cables) {
    cmds.push(['ip', 'link', 'add', a.name, 'netns', a.namespace, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.namespace]);
    for (const end of [a, b]) {
      if (end.bridge) cmds.push(['ip', '-n', sw, 'link', 'set', end.name, 'master', end.bridge]);
      if (end.address) cmds.push(['ip', '-n', end.namespace, 'addr', 'add', end.address, 'dev', end.name]);
      cmds.push(['ip', '-n', end.namespace, 'link', 'set', end.name, 'up']);
    }
  }
  const ext = t.external;
  cmds.push(['ip', '-n', ext.namespace, 'addr', 'add', `${UPSTREAM_CLIENT}/32`, 'dev', 'lo']);
  // nodad: the lab owns this link, and the address is usable at once (no tentative phase).
  if (ext.address6) cmds.push(['ip', '-n', ext.namespace, 'addr', 'add', ext.address6, 'dev', ext.nic, 'nodad']);
  return cmds;
}

/** The commands that remove the lab's own namespaces (their devices go with them). */
export function unwiringCommands(namespaces: string[]): Argv[] {
  return namespaces.map((ns) => ['ip', 'netns', 'delete', ns]);
}
