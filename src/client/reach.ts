// Turns a failed connection or a refused login into a sentence a user can act on: which API, at
// which address, what went wrong (refused, DNS, timeout, TLS, …) and where to look. Both errors are
// the environment's, not the operation's: the CLI exits 2 on them.

/** What the request was for, to name it in the message. */
export interface ApiTarget {
  /** e.g. 'the Networking API', 'the Identity API' */
  api: string;
  /** the URL (or unix:/path) that was tried */
  url: string;
  /** what to check when it cannot be reached, e.g. "is `neutrino server` running there? check [neutrino] server_url in agent.ini" */
  hint?: string;
  /** what to check when the credentials are refused, e.g. "check [neutrino] username, password and project in agent.ini" */
  credentialsHint?: string;
}

/** The API could not be reached at all. */
export class UnreachableError extends Error {
  readonly target: ApiTarget;
  readonly reason: string;

  constructor(target: ApiTarget, reason: string) {
    super(`cannot reach ${target.api} at ${target.url} (${reason})${target.hint ? `: ${target.hint}` : ''}`);
    this.target = target;
    this.reason = reason;
    this.name = 'UnreachableError';
  }
}

/** The Identity API answered, but refused the credentials (401). */
export class CredentialsError extends Error {
  constructor(target: ApiTarget, detail: string) {
    super(
      `${target.api} at ${target.url} refused the credentials (${detail})${target.credentialsHint ? `: ${target.credentialsHint}` : ''}`,
    );
    this.name = 'CredentialsError';
  }
}

/** A request that got no answer in time (Node reports it as an event, not an errno). */
export class NoAnswerError extends Error {
  readonly code = 'ETIMEDOUT';
  readonly ms: number;

  constructor(ms: number) {
    super(`no answer within ${ms / 1000} s`);
    this.ms = ms;
  }
}

/** The error codes of a failed TLS handshake or certificate check. */
export const TLS_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH)/;

/** The reason, in words, for a socket-level error (errno codes of connect/getaddrinfo, TLS codes). */
export function connectionFailure(e: NodeJS.ErrnoException & { hostname?: string }): string {
  const code = e.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return `host name not found: DNS has no address for ${e.hostname ?? 'it'}`;
    case 'EAI_AGAIN':
      return `DNS lookup of ${e.hostname ?? 'the host'} failed for now (temporary failure in name resolution)`;
    case 'ETIMEDOUT':
      return e instanceof NoAnswerError ? e.message : 'connection timed out';
    case 'EHOSTUNREACH':
      return 'no route to host';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'ENOENT':
      return 'no such socket file';
    case 'EACCES':
      return 'permission denied';
  }
  // Node.js 24 appends its own advice after a ';' (run node with --use-system-ca); ours is the cloud's settings.
  if (TLS_CODE.test(code)) return `TLS: ${e.message.split(';')[0]}; check cacert, or verify: false for a test cloud`;
  return e.message;
}

/** Errors that mean "nobody answered": everything a socket reports before an HTTP reply. */
export function isConnectionFailure(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/** The UnreachableError for a socket-level error, or the error itself when it is something else. */
export function explainFailure(e: unknown, target: ApiTarget): unknown {
  return isConnectionFailure(e) ? new UnreachableError(target, connectionFailure(e)) : e;
}
