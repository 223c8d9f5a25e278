#!/usr/bin/env node
// The script busybox udhcpc runs on DHCP events inside an instance (`udhcpc -s dist/lab/dhcp-hook.js`):
// applies the lease with `ip` (address, routes, MTU) and nothing else. Arguments: the event name.
import { spawnSync } from 'node:child_process';
import { leaseCommands } from './dhcp-lease.ts';

const event = process.argv[2] ?? '';
let failed = false;
for (const argv of leaseCommands(event, process.env)) {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  if (r.status !== 0) {
    failed = true;
    process.stderr.write(`dhcp-hook: ${argv.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})\n`);
  }
}
process.stdout.write(`dhcp-hook: ${event}${process.env.ip ? ` ${process.env.ip}` : ''}${failed ? ' (with errors)' : ''}\n`);
process.exit(failed ? 1 : 0);
