#!/usr/bin/env node
// The demo's SSH server wrapper. Started as
//   nsenter --net=/run/netns/<instance ns> -- unshare --mount --propagation private -- node demo-sshd.js <home dir> <dropbear argv...>
// so it runs in the instance's network namespace and in a private mount namespace: there it bind-mounts
// the lab's demo home over /root (dropbear reads root's ~/.ssh/authorized_keys; the host's /root is
// never touched), then runs dropbear in the foreground and waits, passing on SIGTERM/SIGINT.
import { spawn, spawnSync } from 'node:child_process';

const [home, ...dropbear] = process.argv.slice(2);
if (!home || !dropbear.length) {
  process.stderr.write('usage: demo-sshd.js <home dir> <dropbear argv...>\n');
  process.exit(2);
}
const mount = spawnSync('mount', ['--bind', home, '/root'], { stdio: 'inherit' });
if (mount.status !== 0) {
  process.stderr.write(`demo-sshd: mount --bind ${home} /root failed (status ${mount.status})\n`);
  process.exit(1);
}
const child = spawn(dropbear[0], dropbear.slice(1), { stdio: 'inherit' });
child.on('error', (e) => {
  process.stderr.write(`demo-sshd: cannot run ${dropbear[0]}: ${e.message}\n`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
