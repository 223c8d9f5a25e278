// The demo instance's SSH server (dropbear) and the client key that logs in to it, plus a listener on
// a port the security group does not allow, for the proof that it stays closed. Both listen on the
// instance's IPv4 and IPv6 addresses. The instance takes the client's public key from the metadata
// service, as cloud-init does (public-keys/0/openssh-key), into the authorized_keys dropbear reads.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns, run, spawnDetached } from '../exec/run.ts';
import { DEMO_SSHD } from './demo-paths.ts';
import { DEMO, succeeds, type Scene } from './demo-scene.ts';
import type { InstanceRecord } from './instance-state.ts';
import { METADATA_IP } from '../planner/metadata.ts';
import { LabError } from './topology.ts';
import { waitFor } from './util.ts';

/** A probe: true once something accepts TCP on every address in `addresses` at `port`, from inside `namespace`. */
const listensOn = (namespace: string, addresses: string[], port: number) => async () => {
  for (const a of addresses) if (!(await succeeds(['nc', '-z', '-w', '1', a, String(port)], namespace)())) return null;
  return true;
};

/** The client key pair and dropbear's host key, before the instance exists (its metadata carries the public key). */
export function demoKeys(s: Scene): Promise<Keys> {
  return s.step(
    'SSH key pair and dropbear host key (dropbearkey ed25519)',
    () => makeKeys(s.ctx.paths.dir),
    (k) => k.key,
  );
}

/** What the instance fetches, as cloud-init does: its first public key. */
export const METADATA_KEY_URL = `http://${METADATA_IP}/latest/meta-data/public-keys/0/openssh-key`;

/** The key from the metadata service into ~/.ssh/authorized_keys (a proxy just started may need a moment). */
async function keyFromMetadata(s: Scene, inst: InstanceRecord, keys: Keys): Promise<void> {
  const fetched = await waitFor(
    async () => {
      try {
        const out = (await run(inNetns(['curl', '-sf', '-m', '5', METADATA_KEY_URL], inst.namespace))).stdout.trim();
        return out || null;
      } catch {
        return null;
      }
    },
    {
      timeoutMs: 30_000,
      everyMs: 500,
      abort: s.o.abort,
      onTimeout: () =>
        new LabError(
          `the instance got no key from ${METADATA_KEY_URL} within 30 s (the metadata path: try 'neutrino trace instance instance --metadata')`,
        ),
    },
  );
  if (fetched !== keys.pub) throw new LabError(`the metadata service gave the instance another key: '${fetched}', not '${keys.pub}'`);
  writeFileSync(join(keys.home, '.ssh', 'authorized_keys'), `${fetched}\n`, { mode: 0o600 });
}

/** The key from the metadata service, then dropbear on port 22, then the listener on the blocked port, all in the instance. */
export async function startInstanceServers(s: Scene, inst: InstanceRecord, ip6: string, keys: Keys): Promise<void> {
  const addresses = [DEMO.instance.ip, ip6];
  const { step, o } = s;
  const instDir = s.ctx.paths.instanceDir(inst.id);
  await step(
    `SSH key from the metadata service (curl ${METADATA_KEY_URL} in the instance, as cloud-init) into authorized_keys`,
    () => keyFromMetadata(s, inst, keys),
    () => join(keys.home, '.ssh', 'authorized_keys'),
  );
  await step(
    `SSH server in the instance (dropbear on ${DEMO.instance.ip}:22 and [${ip6}]:22)`,
    async () => {
      const pid = await startSshd(inst.namespace, instDir, keys);
      await waitFor(listensOn(inst.namespace, addresses, 22), {
        timeoutMs: 10_000,
        abort: o.abort,
        onTimeout: () =>
          new LabError(
            `dropbear does not listen on port 22 of ${addresses.join(' and ')} in ${inst.namespace}; log: ${join(instDir, 'sshd.log')}`,
          ),
      });
      return pid;
    },
    (pid) => `pid ${pid} (recorded in ${join(instDir, 'sshd.pid')})`,
  );
  await step(
    `listener on tcp/${DEMO.blockedPort} in the instance (not allowed by the group)`,
    async () => {
      // -6 listens on [::], which takes IPv4 connections too (bindv6only is 0 in a fresh namespace).
      const pid = await spawnDetached(inNetns(['nc', '-6', '-l', '-k', String(DEMO.blockedPort)], inst.namespace), {
        log: join(instDir, `nc-${DEMO.blockedPort}.log`),
      });
      writeFileSync(join(instDir, `nc-${DEMO.blockedPort}.pid`), `${pid}\n`);
      await waitFor(listensOn(inst.namespace, addresses, DEMO.blockedPort), {
        timeoutMs: 5_000,
        abort: o.abort,
        onTimeout: () => new LabError(`the test listener on port ${DEMO.blockedPort} did not start in ${inst.namespace}`),
      });
      return pid;
    },
    (pid) => `nc pid ${pid}`,
  );
}

export interface Keys {
  dir: string;
  key: string;
  /** the client's public key (OpenSSH format) */
  pub: string;
  hostKey: string;
  home: string;
  clientHome: string;
}

/** The demo's client key, the host key, and the home dir bind-mounted over /root for dropbear. */
async function makeKeys(labDir: string): Promise<Keys> {
  const dir = join(labDir, 'demo');
  const home = join(dir, 'root');
  const clientHome = join(dir, 'client');
  for (const d of [dir, home, join(home, '.ssh'), clientHome]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  const key = join(dir, 'id_ed25519');
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  if (!existsSync(key)) await run(['dropbearkey', '-t', 'ed25519', '-f', key]);
  if (!existsSync(hostKey)) await run(['dropbearkey', '-t', 'ed25519', '-f', hostKey]);
  const pub = (await run(['dropbearkey', '-y', '-f', key])).stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (!pub) throw new LabError(`dropbearkey -y -f ${key} printed no public key`);
  writeFileSync(join(dir, 'id_ed25519.pub'), `${pub}\n`, { mode: 0o644 });
  return { dir, key, pub: pub.trim(), hostKey, home, clientHome };
}

/** dropbear in the instance's network namespace and a private mount namespace (see demo-sshd.ts). */
async function startSshd(namespace: string, instDir: string, k: Keys): Promise<number> {
  if (!existsSync(DEMO_SSHD)) throw new LabError(`${DEMO_SSHD} is missing: run 'npm run build'`);
  const argv = inNetns(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      process.execPath,
      DEMO_SSHD,
      k.home,
      'dropbear',
      '-F',
      '-E',
      '-R',
      '-p',
      '22',
      '-r',
      k.hostKey,
      '-P',
      join(instDir, 'dropbear.pid'),
    ],
    namespace,
  );
  const pid = await spawnDetached(argv, { log: join(instDir, 'sshd.log') });
  writeFileSync(join(instDir, 'sshd.pid'), `${pid}\n`);
  return pid;
}
