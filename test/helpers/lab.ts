// Shared steps of the lab end-to-end tests: bring a lab up and point the openstack CLI at it as admin; wait for a condition.
import { neutrinoOk } from './neutrino-cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 300 ms until it gives a truthy value; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

/** `lab up` with controller + compute1; returns an environment for the openstack CLI as the lab's admin. */
export async function labUpAsAdmin(labArgs: string[]): Promise<NodeJS.ProcessEnv> {
  await neutrinoOk(['lab', 'up', ...labArgs, '--nodes', 'controller,compute1'], 180_000);
  const envText = await neutrinoOk(['lab', 'env', ...labArgs, '--admin']);
  const env = { ...process.env };
  for (const m of envText.matchAll(/export (\w+)=(\S+)/g)) env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  return env;
}
