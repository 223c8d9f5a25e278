// Unit tests of scrypt password hashing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decoyHash, hashPassword, verifyPassword } from '../../src/identity/password.ts';

test('hash has the scrypt$N$r$p$salt$hash format and verifies', async () => {
  const h = await hashPassword('correct horse');
  const parts = h.split('$');
  assert.equal(parts.length, 6);
  assert.equal(parts[0], 'scrypt');
  assert.deepEqual(parts.slice(1, 4), ['16384', '8', '1']);
  assert.equal(Buffer.from(parts[4], 'base64').length, 16);
  assert.equal(Buffer.from(parts[5], 'base64').length, 32);
  assert.equal(await verifyPassword('correct horse', h), true);
});

test('a wrong password does not verify', async () => {
  const h = await hashPassword('correct horse');
  assert.equal(await verifyPassword('correct horsE', h), false);
  assert.equal(await verifyPassword('', h), false);
});

test('each hash gets its own salt', async () => {
  const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
  assert.notEqual(a, b);
  assert.notEqual(a.split('$')[4], b.split('$')[4]);
  assert.equal(await verifyPassword('same', a), true);
  assert.equal(await verifyPassword('same', b), true);
});

test('malformed or hostile hashes are rejected, not thrown on', async () => {
  const h = await hashPassword('pw');
  const [, , r, p, salt, key] = h.split('$');
  for (const bad of [
    '',
    'plain',
    'bcrypt$1$2$3$4$5',
    `scrypt$${2 ** 30}$${r}$${p}$${salt}$${key}`,
    `scrypt$1000$${r}$${p}$${salt}$${key}`,
    `scrypt$16384$8$1$${salt}$`,
  ]) {
    assert.equal(await verifyPassword('pw', bad), false, bad);
  }
});

test('rounds set the cost of new hashes (N = 2^rounds); a hash keeps its own N when the rounds change', async () => {
  const cheap = await hashPassword('pw', 10);
  assert.deepEqual(cheap.split('$').slice(1, 4), ['1024', '8', '1']);
  assert.equal(await verifyPassword('pw', cheap), true);
  assert.equal(await verifyPassword('pW', cheap), false);
  const dearer = await hashPassword('pw', 12);
  assert.equal(dearer.split('$')[1], '4096');
  assert.equal(await verifyPassword('pw', dearer), true);
  for (const bad of [0, 21, 1.5, NaN]) await assert.rejects(hashPassword('pw', bad), RangeError, String(bad));
});

test('the decoy of absent users costs what a check at the same rounds costs', async () => {
  assert.equal((await decoyHash()).split('$')[1], '16384');
  assert.equal((await decoyHash(10)).split('$')[1], '1024');
  assert.equal(await decoyHash(10), await decoyHash(10), 'made once per cost');
});
