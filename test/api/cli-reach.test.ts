// An API the command cannot reach, or that refuses its credentials, is the environment's problem:
// exit status 2 (not 1, "broken"), and one sentence that names the endpoint tried and what to check.
// Runs the built command (npm run build) against a real server and against closed ports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labPaths } from '../../src/lab/paths.ts';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';
import { newLabState, writeLabState } from '../../src/lab/state.ts';
import { neutrino } from '../helpers/neutrino-cli.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

const built = existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)';
const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
let server: TestServer;
let closedPort: number;
let tls: Server | undefined;
let tlsPort = 0;

/** The environment without the caller's OS_* and NEUTRINO_* settings, plus `extra`. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_') && !k.startsWith('NEUTRINO_')));
  return { ...clean, ...extra };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'neutrino-cli-reach-'));
  server = await startTestServer();
  closedPort = await freeLoopbackPort(); // bound, then released: nobody listens there
  const cloud = (name: string, authUrl: string, password = 'x') =>
    `  ${name}:\n    auth:\n      auth_url: ${authUrl}\n      username: admin\n      password: ${password}\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n`;
  const clouds = [
    cloud('closed', `http://127.0.0.1:${closedPort}/identity/v3`),
    cloud('nodns', 'http://no-such-host.invalid:5000/v3'),
    cloud('wrongpw', `${server.url}/identity/v3`, 'not-the-password'),
  ];
  if (hasOpenssl) {
    // A self-signed certificate nobody trusts: the client must say it is TLS that failed.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) =>
      res.end('{}'),
    );
    await new Promise<void>((resolve) => tls!.listen(0, '127.0.0.1', resolve));
    tlsPort = (tls.address() as { port: number }).port;
    clouds.push(cloud('selfsigned', `https://127.0.0.1:${tlsPort}/v3`));
  }
  writeFileSync(join(dir, 'clouds.yaml'), `clouds:\n${clouds.join('')}`);
  const agentIni = (url: string, password: string) =>
    `[DEFAULT]\nhost = reachtest\nstate_path = ${join(dir, 'agent')}\n[neutrino]\nserver_url = ${url}\nusername = admin\npassword = ${password}\nproject = admin\n[vxlan]\nenable_vxlan = false\n`;
  writeFileSync(join(dir, 'agent-closed.ini'), agentIni(`http://127.0.0.1:${closedPort}`, ADMIN_PASSWORD));
  writeFileSync(join(dir, 'agent-wrongpw.ini'), agentIni(server.url, 'not-the-password'));
});

after(async () => {
  tls?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cloudsEnv = () => env({ OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') });

test('trace: an unreachable Identity API exits 2 and names the endpoint and where it was configured', { skip: built }, async () => {
  const [fip, port, instance, vars] = await Promise.all([
    neutrino(['trace', 'fip', '10.0.0.1', '--cloud', 'closed'], 30_000, cloudsEnv()),
    neutrino(['trace', 'port', 'abcdef12', '--to', '10.0.0.1', '--cloud', 'closed'], 30_000, cloudsEnv()),
    neutrino(
      ['trace', 'instance', '9fa7eaa3-71b4-475d-9f21-eb52f941b537'],
      30_000,
      env({ OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'), OS_CLOUD: 'closed' }),
    ),
    neutrino(
      ['trace', 'fip', '10.0.0.1'],
      30_000,
      env({ OS_AUTH_URL: `http://127.0.0.1:${closedPort}/v3`, OS_USERNAME: 'a', OS_PASSWORD: 'b', OS_PROJECT_NAME: 'c' }),
    ),
  ]);
  const inClouds = new RegExp(
    `^neutrino trace: cannot reach the Identity API at http://127\\.0\\.0\\.1:${closedPort}/identity/v3 \\(connection refused\\): is the cloud's Keystone \\(or \`neutrino server\`\\) running there\\? check auth_url of cloud 'closed' in ${join(dir, 'clouds.yaml')} \\(--cloud / OS_CLOUD\\)\\n$`,
  );
  for (const r of [fip, port, instance]) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, inClouds);
  }
  assert.equal(vars.code, 2, vars.stderr);
  assert.match(
    vars.stderr,
    new RegExp(
      `cannot reach the Identity API at http://127\\.0\\.0\\.1:${closedPort}/v3 \\(connection refused\\): .* check the OS_\\* variables \\(OS_AUTH_URL\\)\\n$`,
    ),
  );
});

test('trace: a host name DNS does not know, and an untrusted TLS certificate, are said as such (exit 2)', { skip: built }, async () => {
  const [dns, selfSigned] = await Promise.all([
    neutrino(['trace', 'fip', '10.0.0.1', '--cloud', 'nodns'], 30_000, cloudsEnv()),
    hasOpenssl ? neutrino(['trace', 'fip', '10.0.0.1', '--cloud', 'selfsigned'], 30_000, cloudsEnv()) : undefined,
  ]);
  assert.equal(dns.code, 2, dns.stderr);
  // No resolver at all (a sandbox) fails with EAI_AGAIN instead of ENOTFOUND: both are DNS.
  assert.match(
    dns.stderr,
    /^neutrino trace: cannot reach the Identity API at http:\/\/no-such-host\.invalid:5000\/v3 \(.*DNS.*no-such-host\.invalid.*\): .*\n$/,
  );
  if (selfSigned) {
    assert.equal(selfSigned.code, 2, selfSigned.stderr);
    assert.match(
      selfSigned.stderr,
      new RegExp(
        `^neutrino trace: cannot reach the Identity API at https://127\\.0\\.0\\.1:${tlsPort}/v3 \\(TLS: self.signed certificate; check cacert, or verify: false for a test cloud\\)`,
      ),
    );
  }
});

test('trace: refused credentials exit 2 and say which settings to check', { skip: built }, async () => {
  const r = await neutrino(['trace', 'fip', '10.0.0.1', '--cloud', 'wrongpw'], 30_000, cloudsEnv());
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^neutrino trace: the Identity API at ${server.url}/identity/v3 refused the credentials \\(.+\\): check username, password, project_name, user_domain_name of cloud 'wrongpw' in .*clouds\\.yaml \\(--cloud / OS_CLOUD\\)\\n$`,
    ),
  );
});

test('lab: a lab whose server is gone exits 2 and points at `lab status`', { skip: built }, async () => {
  // Only lab.json is needed to find the lab's API: one pointing at a port nobody listens on.
  const root = join(dir, 'labs-root');
  const paths = labPaths(root, 'rch');
  mkdirSync(paths.dir, { recursive: true });
  const state = newLabState({
    lab: 'rch',
    stateDir: paths.dir,
    nodes: ['controller'],
    socket: join(paths.dir, 's'),
    agents: false,
    adminPassword: 'x',
    demoPassword: 'x',
    now: new Date(),
  });
  state.server.url = `http://127.0.0.1:${closedPort}`;
  writeLabState(paths, state);
  const r = await neutrino(['trace', 'fip', '10.123.123.104', '--lab', 'rch', '--state-root', root], 30_000, env({}));
  assert.equal(r.code, 2, r.stderr);
  // After the progress line ("reading the API at …"), the reason.
  assert.match(
    r.stderr,
    new RegExp(
      `\\nneutrino trace: cannot reach the Networking API at http://127\\.0\\.0\\.1:${closedPort} \\(connection refused\\): is lab 'rch' still up\\? see \`neutrino lab status --lab rch\`\\n$`,
    ),
  );
});

test('agent: an unreachable server and refused credentials exit 2 with the config file to check', { skip: built }, async () => {
  const [closed, wrong] = await Promise.all([
    neutrino(['agent', '--config', join(dir, 'agent-closed.ini')], 30_000, env({})),
    neutrino(['agent', '--config', join(dir, 'agent-wrongpw.ini')], 30_000, env({})),
  ]);
  assert.equal(closed.code, 2, closed.stderr);
  assert.match(
    closed.stderr,
    new RegExp(
      `^neutrino: cannot reach the Networking API at http://127\\.0\\.0\\.1:${closedPort} \\(connection refused\\): is \`neutrino server\` running there\\? check \\[neutrino\\] server_url in ${join(dir, 'agent-closed.ini')}\\n$`,
    ),
  );
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(
    wrong.stderr,
    new RegExp(
      `^neutrino: the Identity API at ${server.url}/identity/v3 refused the credentials \\(user 'admin', project 'admin': .+\\): check \\[neutrino\\] username, password and project in ${join(dir, 'agent-wrongpw.ini')}\\n$`,
    ),
  );
});
