// [keystone_authtoken] cafile, certfile, keyfile and insecure toward an HTTPS Keystone (a stand-in
// answering the two calls the server makes: the service login and a token's validation), with
// certificates openssl makes for the test: a CA, Keystone's certificate for 127.0.0.1 and a client
// certificate. memcached_servers is accepted and reported as ignored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KeystoneTokenValidator, KeystoneUnavailableError } from '../../src/client/keystone.ts';
import { tlsSettings, type TlsOptions } from '../../src/client/tls-settings.ts';
import { parseKeystoneAuthtoken, ServerConfigError } from '../../src/server-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'keystone-tls-'));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

/** A key and a certificate for `cn`, signed by the CA (or self-signed when `ca` is false). */
function certificate(name: string, cn: string, ext?: string): void {
  openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    file(`${name}.key`),
    '-out',
    file(`${name}.csr`),
  );
  const extArgs = ext ? ['-extfile', file(`${name}.ext`)] : [];
  if (ext) writeFileSync(file(`${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    file(`${name}.csr`),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    file(`${name}.crt`),
    ...extArgs,
  );
}

let server: Server;
let authUrl = '';
/** The CN of the client certificate each request came with (null: none). */
const clients: Array<string | null> = [];

before(async () => {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=test CA',
    '-days',
    '2',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  certificate('keystone', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\n');
  certificate('client', 'neutrino-server');
  server = createServer(
    {
      key: readFileSync(file('keystone.key')),
      cert: readFileSync(file('keystone.crt')),
      ca: readFileSync(file('ca.crt')),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.authorized ? socket.getPeerCertificate() : null;
      clients.push(peer?.subject ? String(peer.subject.CN) : null);
      const expires = new Date(Date.now() + 3600_000).toISOString();
      if (req.method === 'POST' && req.url === '/v3/auth/tokens?nocatalog') {
        res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'service-token' });
        return res.end(JSON.stringify({ token: { issued_at: new Date().toISOString(), expires_at: expires } }));
      }
      if (req.method === 'GET' && req.headers['x-auth-token'] === 'service-token' && req.headers['x-subject-token'] === 'user-token') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({ token: { user: { id: 'u1' }, project: { id: 'p1' }, roles: [{ name: 'member' }], expires_at: expires } }),
        );
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: 'not found' } }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  authUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v3`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const validator = (tls: TlsOptions) =>
  new KeystoneTokenValidator({
    authUrl,
    timeoutMs: 5000,
    auth: { username: 'neutron', password: 'pw', projectName: 'service' },
    tls: tlsSettings(tls, '[keystone_authtoken]'),
  });

test('without cafile a Keystone whose CA the system does not know is refused, naming the TLS options', async () => {
  await assert.rejects(validator({ insecure: false }).validate('user-token'), (e: Error) => {
    assert.ok(e instanceof KeystoneUnavailableError, String(e));
    assert.match(e.message, /TLS: .*check cafile/);
    return true;
  });
});

test('cafile: the certificate is verified against it; tokens are validated', async () => {
  const before = clients.length;
  const token = await validator({ cafile: file('ca.crt'), insecure: false }).validate('user-token');
  assert.equal(token?.user.id, 'u1');
  assert.equal(await validator({ cafile: file('ca.crt'), insecure: false }).validate('other'), null);
  assert.deepEqual(clients.slice(before, before + 2), [null, null], 'no client certificate unless certfile is set');
});

test('insecure = true: no verification at all', async () => {
  assert.equal((await validator({ insecure: true }).validate('user-token'))?.user.id, 'u1');
});

test('certfile and keyfile: the client certificate is presented (certfile alone may hold both)', async () => {
  const before = clients.length;
  await validator({ cafile: file('ca.crt'), certfile: file('client.crt'), keyfile: file('client.key'), insecure: false }).validate(
    'user-token',
  );
  writeFileSync(file('client.pem'), readFileSync(file('client.crt')).toString() + readFileSync(file('client.key')).toString());
  await validator({ cafile: file('ca.crt'), certfile: file('client.pem'), insecure: false }).validate('user-token');
  assert.ok(clients.slice(before).length >= 2);
  assert.ok(
    clients.slice(before).every((cn) => cn === 'neutrino-server'),
    JSON.stringify(clients.slice(before)),
  );
});

test('[keystone_authtoken]: the TLS options parsed, memcached_servers warned about, a file that cannot be read named', () => {
  const base = { auth_type: 'password', auth_url: 'https://keystone:5000', username: 'neutron', password: 'pw', project_name: 'service' };
  const warnings: string[] = [];
  const k = parseKeystoneAuthtoken(
    {
      ...base,
      www_authenticate_uri: 'https://keystone:5000',
      cafile: '/etc/ssl/ca.pem',
      insecure: 'false',
      memcached_servers: '127.0.0.1:11211',
    },
    warnings,
  );
  assert.deepEqual(k.tls, { cafile: '/etc/ssl/ca.pem', certfile: undefined, keyfile: undefined, insecure: false });
  assert.deepEqual(warnings, [
    '[keystone_authtoken] memcached_servers is ignored: each server process caches validated tokens itself, for token_cache_time seconds',
  ]);
  assert.throws(() => parseKeystoneAuthtoken({ ...base, keyfile: '/k' }, []), /keyfile needs certfile/);
  assert.throws(() => parseKeystoneAuthtoken({ ...base, insecure: 'maybe' }, []), ServerConfigError);
  assert.throws(
    () => tlsSettings({ cafile: file('missing.pem'), insecure: false }, '[keystone_authtoken]'),
    /\[keystone_authtoken\] cafile .*missing\.pem/,
  );
  assert.deepEqual(tlsSettings({ insecure: false }, '[keystone_authtoken]'), { verify: true }, "no options: the system's CAs");
});
