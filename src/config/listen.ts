// HOST:PORT of a listening address (the server's --listen, metrics_listen, the agent's and web's listeners).
import { ServerConfigError } from './server-config-error.ts';

/** `HOST:PORT` (an IPv6 host in brackets) → host and port; `name` is the setting named in the error. */
export function parseListen(text: string, name = '--listen'): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ServerConfigError(`invalid ${name} '${text}': expected HOST:PORT`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
