// Password hashing: salted scrypt stored as `scrypt$N$r$p$saltB64$hashB64`, verified in constant time.
// The cost of new hashes is N = 2^rounds (Keystone's [identity] password_hash_rounds for scrypt);
// a stored hash carries its own parameters, so changing the rounds never breaks an existing one.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { inHashSlot } from './hash-slots.ts';
import { DEFAULT_HASH_ROUNDS, hashRoundsProblem, MAX_HASH_ROUNDS } from './hash-rounds.ts';
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Refuse to work on stored parameters beyond these (a tampered row must not stall the server). */
const MAX_N = 2 ** MAX_HASH_ROUNDS;
const MAX_R = 32;
const MAX_P = 16;

function derive(password: string, salt: Buffer, keyLen: number, opts: Required<Pick<ScryptOptions, 'N' | 'r' | 'p'>>): Promise<Buffer> {
  const maxmem = 128 * opts.N * opts.r * opts.p + 1024 * 1024;
  return inHashSlot(
    () =>
      new Promise((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, keyLen, { ...opts, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

export async function hashPassword(password: string, rounds = DEFAULT_HASH_ROUNDS): Promise<string> {
  const problem = hashRoundsProblem(rounds);
  if (problem) throw new RangeError(`password hash rounds ${problem}, not ${rounds}`);
  const N = 2 ** rounds;
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `encoded`; false for a mismatch or an unreadable/unsupported hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const sane = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
  if (!sane(n, MAX_N) || (n & (n - 1)) !== 0 || n < 2 || !sane(r, MAX_R) || !sane(p, MAX_P)) return false;
  if (salt.length === 0 || expected.length < 16 || expected.length > 128) return false;
  const actual = await derive(password, salt, expected.length, { N: n, r, p });
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password made with `rounds`: verifying against it costs as much as checking a
 * password hashed with the same rounds, for absent users.
 */
const decoys = new Map<number, Promise<string>>();
export function decoyHash(rounds = DEFAULT_HASH_ROUNDS): Promise<string> {
  let decoy = decoys.get(rounds);
  if (!decoy) decoys.set(rounds, (decoy = hashPassword(randomBytes(24).toString('base64'), rounds)));
  return decoy;
}
