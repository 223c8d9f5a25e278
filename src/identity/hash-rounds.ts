// The cost of new password hashes: scrypt's N = 2^rounds (Keystone's [identity] password_hash_rounds,
// whose scrypt rounds are log2 N). Apart from password.ts so the configuration can check a value
// without loading the hashing.

/** 2^14: ~50 ms of one core per check on a small server. */
export const DEFAULT_HASH_ROUNDS = 14;

/** verifyPassword refuses stored hashes above N = 2^20 (a tampered row must not stall the server). */
export const MAX_HASH_ROUNDS = 20;

/** Why `rounds` cannot be used for new hashes, or null when it can. */
export function hashRoundsProblem(rounds: number): string | null {
  return Number.isInteger(rounds) && rounds >= 1 && rounds <= MAX_HASH_ROUNDS
    ? null
    : `must be an integer from 1 to ${MAX_HASH_ROUNDS} (scrypt's N = 2^rounds)`;
}
