// TLS settings in keystoneauth's option names (cafile, certfile, keyfile, insecure), as
// [keystone_authtoken] takes them, and the files they name read once at start.
import { readFileSync } from 'node:fs';
import { TLS_CODE } from './reach.ts';

/** The options as configured. */
export interface TlsOptions {
  /** CA bundle the server's certificate must chain to; unset: the system's */
  cafile?: string;
  /** client certificate (PEM); with no keyfile it holds the key too */
  certfile?: string;
  keyfile?: string;
  /** no verification of the server's certificate */
  insecure: boolean;
}

/** What a TLS connection is made with. */
export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  verify: boolean;
}

export class TlsFileError extends Error {}

function read(section: string, option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsFileError(`${section} ${option} ${path}: ${(e as Error).message}`);
  }
}

/** Reads the files (none set: the system's CAs, verified, no client certificate). */
export function tlsSettings(o: TlsOptions, section: string): TlsSettings {
  const cert = o.certfile ? read(section, 'certfile', o.certfile) : undefined;
  return {
    verify: !o.insecure,
    ...(o.cafile && !o.insecure ? { ca: read(section, 'cafile', o.cafile) } : {}),
    ...(cert ? { cert, key: o.keyfile ? read(section, 'keyfile', o.keyfile) : cert } : {}),
  };
}

/** The reason in words for a TLS failure, naming the options that decide it; null for other errors. */
export function describeTlsFailure(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (!TLS_CODE.test(code)) return null;
  return `TLS: ${(e as Error).message.split(';')[0]}; check cafile (or insecure = true for a test Keystone), certfile and keyfile`;
}
