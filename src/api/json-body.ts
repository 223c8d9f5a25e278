// Request bodies: strict UTF-8 JSON, nested no deeper than any real request needs, with every string
// valid Unicode and every number finite — so what is stored is exactly what was acknowledged, and no later step (serialising,
// validating, echoing) can run out of stack on a hostile body.
import { NeutronError } from '../model/errors.ts';

/** Deeper than any Networking or Identity body (the deepest, binding:profile, is free-form but shallow). */
export const MAX_JSON_DEPTH = 32;

const malformed = (reason?: string) =>
  new NeutronError(400, 'HTTPBadRequest', reason ? `Malformed request body: ${reason}` : 'Malformed request body');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Deepest nesting of arrays/objects in JSON text, counted without parsing (brackets in strings do not count). */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a parsed JSON value cannot be stored as given, or undefined: a string (keys included) that is not
 * well-formed UTF-16 or holds NUL (PostgreSQL text cannot), or a number too large for a double (1e400
 * parses as Infinity and is stored as null).
 */
export function unrepresentable(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\0')) return 'NUL character in a string';
    return LONE_SURROGATE.test(value) ? 'invalid Unicode (lone surrogate)' : undefined;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'number out of range';
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const v of value) {
      const why = unrepresentable(v);
      if (why) return why;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const why = unrepresentable(k) ?? unrepresentable(v);
    if (why) return why;
  }
  return undefined;
}

/** A request body → its JSON value (undefined when empty), or the 400 that refuses it. */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw malformed('invalid UTF-8');
  }
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw malformed(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed();
  }
  // "\ud800" and 1e400 are valid JSON but no storable value: they would become U+FFFD and null behind the caller's back.
  const why = unrepresentable(value);
  if (why) throw malformed(why);
  return value;
}
