// Gratuitous ARP for addresses just added on router devices (Neutron's ip_lib.send_ip_addr_adv_notif
// and _arping): inside the router namespace, `arping -U` then `arping -A`, one packet each, in
// `rounds` rounds 2 s apart. It runs in the background — a pass never waits for it — and a failure
// is logged, never fatal: an announcement only speeds up what ARP would learn anyway.
import type { Logger } from 'pino';
import { isExecError } from '../exec/errors.ts';
import { mapLimit } from '../exec/real.ts';
import { run as defaultRun, type Runner } from '../exec/run.ts';
import type { RouterAddress } from '../planner/l3.ts';

/** Neutron's pause between rounds, for the kernel to get out of its ARP locktime. */
export const ARPING_SLEEP_MS = 2000;
/** send_arp_for_ha's default: rounds of announcements per address. */
export const GARP_ROUNDS = 3;
/** Addresses announced at once: a router rebuilt with many floating IPs must not fork hundreds of arpings together. */
const PARALLEL = 16;

export interface GarpOptions {
  run?: Runner;
  rounds?: number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Announces one address; resolves when done or given up (never rejects). arping exits 1 when
 * nothing answered (the normal case for an announcement); from the second round on, exit 2 means
 * the address or device went away meanwhile (a newer pass removed it), so the rest is dropped quietly.
 */
export async function announceAddress(target: RouterAddress, log: Pick<Logger, 'warn' | 'debug'>, opts: GarpOptions = {}): Promise<void> {
  const run = opts.run ?? defaultRun;
  const sleep = opts.sleep ?? realSleep;
  const rounds = opts.rounds ?? GARP_ROUNDS;
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await sleep(ARPING_SLEEP_MS);
    for (const mode of ['-U', '-A']) {
      try {
        await run(['arping', mode, '-I', target.dev, '-c', '1', '-w', '2', target.ip], { netns: target.ns, timeoutMs: 5000 });
      } catch (e) {
        if (isExecError(e) && e.exitCode === 1) continue;
        if (round > 0 && isExecError(e) && e.exitCode === 2) {
          log.debug({ ...target, err: e }, 'gratuitous ARP stopped: the address is gone');
        } else {
          log.warn({ ...target, err: e }, 'gratuitous ARP failed');
        }
        return;
      }
    }
  }
}

/** Starts the announcements of `targets` in the background; the promise is for tests and shutdown only. */
export function sendGarps(targets: readonly RouterAddress[], log: Pick<Logger, 'warn' | 'debug'>, opts: GarpOptions = {}): Promise<void> {
  return mapLimit(targets, PARALLEL, (t) => announceAddress(t, log, opts)).then(() => undefined);
}
