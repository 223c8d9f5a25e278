// Throw-away namespaces for root tests: a unique prefix, setup by hand (like a NIC nobody manages), removal of all of it afterwards.
import { randomBytes } from 'node:crypto';
import { run } from '../../src/exec/run.ts';
import { parseNetnsList } from '../../src/observe/netns.ts';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** e.g. 'nt-3fa1-': short, so that prefix + 'node1-vm' stays a readable namespace name. */
export const uniquePrefix = (): string => `nt-${randomBytes(2).toString('hex')}-`;

export async function namespacesWith(prefix: string): Promise<string[]> {
  const names = parseNetnsList((await run(['ip', '-j', 'netns', 'list'])).stdout);
  return names.filter((n) => n.startsWith(prefix));
}

/** Deletes every namespace carrying the prefix (their devices go with them); never anything else. */
export async function removeAll(prefix: string): Promise<void> {
  if (!/^nt-[0-9a-f]{4}-$/.test(prefix)) throw new Error(`refusing to clean up with prefix ${prefix}`);
  for (const ns of await namespacesWith(prefix)) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
}

/**
 * Two "nodes" joined by a veth management link, like two hosts on 192.168.0.0/24; the link is
 * made by hand (no mark), as a real NIC would be.
 */
export async function twoNodes(prefix: string): Promise<{ node1: string; node2: string }> {
  const node1 = `${prefix}node1`;
  const node2 = `${prefix}node2`;
  await run(['ip', 'netns', 'add', node1]);
  await run(['ip', 'netns', 'add', node2]);
  await run(['ip', '-batch', '-'], {
    netns: node1,
    stdin: `link set lo up\nlink add eth1 type veth peer name eth1 netns ${node2}\naddr add 192.168.0.104/24 dev eth1\nlink set eth1 up\n`,
  });
  await run(['ip', '-batch', '-'], { netns: node2, stdin: 'link set lo up\naddr add 192.168.0.105/24 dev eth1\nlink set eth1 up\n' });
  return { node1, node2 };
}

/** ping from a namespace; a few tries, as the first packets may wait for ARP. */
export async function ping(netns: string, ip: string, tries = 3): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    try {
      await run(['ping', '-c', '1', '-W', '2', ip], { netns, timeoutMs: 5000 });
      return true;
    } catch {
      // try again
    }
  }
  return false;
}

/**
 * A node as the router and DHCP root tests use it: `node` with eth1 holding local_ip 192.168.0.104
 * (its veth peer left in the node), the provider NIC eth2 to `ext`'s eth0 when given, and an
 * instance namespace `inst` whose eth0 (MAC `mac`, up) has its peer `tap` in the node.
 */
export async function nodeWithInstance(o: { node: string; inst: string; tap: string; mac: string; ext?: string }): Promise<void> {
  for (const n of [o.node, o.inst, ...(o.ext ? [o.ext] : [])]) await run(['ip', 'netns', 'add', n]);
  await run(['ip', '-batch', '-'], {
    netns: o.node,
    stdin:
      [
        'link set lo up',
        'link add eth1 type veth peer name eth1p',
        'link set eth1p up',
        'addr add 192.168.0.104/24 dev eth1',
        'link set eth1 up',
        ...(o.ext ? [`link add eth2 type veth peer name eth0 netns ${o.ext}`, 'link set eth2 up'] : []),
        `link add ${o.tap} type veth peer name eth0 netns ${o.inst}`,
        `link set ${o.tap} up`,
      ].join('\n') + '\n',
  });
  await run(['ip', '-batch', '-'], { netns: o.inst, stdin: `link set lo up\nlink set eth0 address ${o.mac}\nlink set eth0 up\n` });
}
