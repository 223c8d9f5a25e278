// Neutron's error model: every failure the API can answer with is a NeutronError carrying the
// exception class name Neutron uses (the `type` clients match on) and the HTTP status its base
// class maps to (neutron_lib/api/faults.py).

/** Longest input value an error message repeats; a longer one is cut and ends in an ellipsis. */
export const ECHO_MAX = 255;
/** Backstop for a whole message, whatever it repeats. */
const MESSAGE_MAX = 4 * ECHO_MAX;

/** Caps text taken from a request before it goes into an error message (never echo 100 KB back). */
export function echo(text: string, max = ECHO_MAX): string {
  if (text.length <= max) return text;
  // Do not split a surrogate pair: half of one is no valid Unicode.
  const cut = /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, cut)}...`;
}

export class NeutronError extends Error {
  readonly status: number;
  readonly type: string;
  readonly detail: string;

  constructor(status: number, type: string, message: string, detail = '') {
    super(echo(message, MESSAGE_MAX));
    this.status = status;
    this.type = type;
    this.detail = detail;
    this.name = type;
  }
}

export const badRequest = (message: string, type = 'HTTPBadRequest') => new NeutronError(400, type, message);
export const invalidInput = (message: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${message}.`);
export const notFound = (type: string, message: string) => new NeutronError(404, type, message);
export const conflict = (type: string, message: string) => new NeutronError(409, type, message);
export const forbidden = (message: string, type = 'HTTPForbidden') => new NeutronError(403, type, message);
export const policyDenied = (rule: string) => new NeutronError(403, 'PolicyNotAuthorized', `${rule} is disallowed by policy`);
export const unavailable = (type: string, message: string) => new NeutronError(503, type, message);

/** "Invalid input for <attr>. Reason: <why>." — the attribute-validation failure message. */
export const invalidAttribute = (attr: string, reason: string) => badRequest(`Invalid input for ${attr}. Reason: ${reason}.`);

/** Keystone's error shape, used by the identity API and by 401s on the networking API. */
export class IdentityError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(status: number, title: string, message: string) {
    super(echo(message, MESSAGE_MAX));
    this.status = status;
    this.title = title;
  }
}

export const unauthorized = () => new IdentityError(401, 'Unauthorized', 'The request you have made requires authentication.');
