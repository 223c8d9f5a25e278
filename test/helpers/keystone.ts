// A real Keystone for tests: Debian's python3-keystone, its database in SQLite and its Fernet and
// credential keys in a temporary directory (keystone-manage db_sync, fernet_setup, credential_setup,
// bootstrap), served by the package's own WSGI script (Python's wsgiref) on a free loopback port as
// the user running the tests (test-only), stopped by PID and removed at the end.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';

const MANAGE = '/usr/bin/keystone-manage';
const WSGI = '/usr/bin/keystone-wsgi-public';

/** Why the Keystone tests cannot run here, or null when they can. */
export function keystoneMissing(): string | null {
  return existsSync(MANAGE) && existsSync(WSGI)
    ? null
    : `Keystone is not installed (${MANAGE} and ${WSGI}: Debian package python3-keystone; scripts/install-deps.sh installs it)`;
}

export const KEYSTONE_ADMIN_PASSWORD = 'keystone-admin-secret';

export interface KeystoneServer {
  /** http://127.0.0.1:PORT (Identity v3 at /v3) */
  url: string;
  pid: number;
  /** Stops it (SIGTERM, by PID) and waits; the directory stays until cleanup. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  cleanup(): Promise<void>;
  /** Everything it logged so far (to explain a failure). */
  log(): string;
}

export interface KeystoneOptions {
  /** [token] expiration in seconds (Keystone's default: 3600). */
  tokenExpiration?: number;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`keystone exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    try {
      if ((await fetch(`${url}/v3`, { signal: AbortSignal.timeout(2000) })).status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`keystone did not answer within 60 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startKeystone(opts: KeystoneOptions = {}): Promise<KeystoneServer> {
  const missing = keystoneMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-keystone-'));
  const conf = join(dir, 'keystone.conf');
  const logFile = join(dir, 'keystone.log');
  for (const d of ['fernet-keys', 'credential-keys']) mkdirSync(join(dir, d), { mode: 0o700 });
  // Four bcrypt rounds: logins in milliseconds, not the production default's quarter second each.
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      `log_file = ${logFile}`,
      '[database]',
      `connection = sqlite:///${join(dir, 'keystone.db')}`,
      '[fernet_tokens]',
      `key_repository = ${join(dir, 'fernet-keys')}`,
      '[credential]',
      `key_repository = ${join(dir, 'credential-keys')}`,
      '[identity]',
      'password_hash_rounds = 4',
      '[token]',
      `expiration = ${opts.tokenExpiration ?? 3600}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  const wsgiLog = join(dir, 'wsgi.log');
  const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').slice(-3000) : '');
  const log = () => `${tail(logFile)}\n${tail(wsgiLog)}`;
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const hard = setTimeout(() => child?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(hard);
  };
  const cleanup = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const { username } = userInfo();
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    const manage = (...args: string[]) => {
      try {
        execFileSync(MANAGE, ['--config-file', conf, ...args], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
      } catch (e) {
        throw new Error(`keystone-manage ${args[0]} failed: ${String((e as { stderr?: Buffer }).stderr ?? e)}\n${log()}`);
      }
    };
    manage('db_sync');
    // Keystone's pooled connections may keep a read transaction open between requests, which in
    // SQLite's default journal mode makes the next write fail ('database is locked'); WAL lets it commit.
    execFileSync('python3', [
      '-c',
      `import sqlite3; sqlite3.connect(${JSON.stringify(join(dir, 'keystone.db'))}).execute('pragma journal_mode=wal')`,
    ]);
    manage('fernet_setup', '--keystone-user', username, '--keystone-group', group);
    manage('credential_setup', '--keystone-user', username, '--keystone-group', group);
    manage(
      'bootstrap',
      ...['--bootstrap-password', KEYSTONE_ADMIN_PASSWORD, '--bootstrap-region-id', 'RegionOne'],
      ...['--bootstrap-public-url', `${url}/v3`, '--bootstrap-internal-url', `${url}/v3`],
    );
    const out = openSync(wsgiLog, 'a');
    child = spawn(WSGI, ['--host', '127.0.0.1', '--port', String(port)], {
      cwd: dir,
      stdio: ['ignore', out, out],
      env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf },
    });
    const proc = child;
    await waitReady(url, proc, log);
    return { url, pid: proc.pid!, stop, cleanup, log };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** A small client of Keystone's API for setting up a test: log in, create and grant. */
export class KeystoneAdmin {
  private token: string | null = null;

  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  /** A project-scoped token for a user of domain Default: its id and body. */
  async login(username: string, password: string, project: string): Promise<{ id: string; body: KeystoneTokenBody }> {
    const res = await fetch(`${this.url}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      }),
    });
    if (res.status !== 201) throw new Error(`login of ${username} on ${project}: ${res.status} ${await res.text()}`);
    return { id: res.headers.get('x-subject-token')!, body: ((await res.json()) as { token: KeystoneTokenBody }).token };
  }

  /** DELETE /v3/auth/tokens: Keystone revokes the token. */
  async revoke(token: string): Promise<void> {
    const res = await this.call('DELETE', '/v3/auth/tokens', undefined, { 'x-subject-token': token });
    if (res.status !== 204) throw new Error(`revoking a token: ${res.status}`);
  }

  /**
   * A request as the bootstrap admin (project admin). Its token is kept, and taken again once Keystone
   * answers 401: tests that shorten `[token] expiration` outlive it on a slow machine.
   */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      this.token ??= (await this.login('admin', KEYSTONE_ADMIN_PASSWORD, 'admin')).id;
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: { 'x-auth-token': this.token, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status !== 401 || attempt === 2) return res;
      this.token = null;
    }
  }

  /** POST …/<collection> {<kind>: attrs}: the new resource's id. */
  async create(collection: string, kind: string, attrs: Record<string, unknown>): Promise<string> {
    const res = await this.call('POST', `/v3/${collection}`, { [kind]: attrs });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`creating ${kind} ${JSON.stringify(attrs)}: ${res.status} ${text}`);
    return (JSON.parse(text) as Record<string, { id: string }>)[kind].id;
  }

  async roleId(name: string): Promise<string> {
    const res = await this.call('GET', `/v3/roles?name=${encodeURIComponent(name)}`);
    const roles = ((await res.json()) as { roles: Array<{ id: string }> }).roles;
    return roles[0]?.id ?? this.create('roles', 'role', { name });
  }

  /** A project of domain Default: its id. */
  project(name: string): Promise<string> {
    return this.create('projects', 'project', { name, domain_id: 'default' });
  }

  /** A user of domain Default with the role on the project: the user's id. */
  async user(name: string, password: string, projectId: string, role: string): Promise<string> {
    const id = await this.create('users', 'user', { name, password, domain_id: 'default' });
    await this.grant(id, projectId, role);
    return id;
  }

  async grant(userId: string, projectId: string, role: string): Promise<void> {
    const res = await this.call('PUT', `/v3/projects/${projectId}/users/${userId}/roles/${await this.roleId(role)}`);
    if (res.status !== 204) throw new Error(`granting ${role}: ${res.status} ${await res.text()}`);
  }

  /** Registers a `network` service with a public endpoint in RegionOne (for clients that read the catalog). */
  async registerNetworkEndpoint(url: string): Promise<void> {
    const service = await this.create('services', 'service', { type: 'network', name: 'neutron' });
    await this.create('endpoints', 'endpoint', { service_id: service, interface: 'public', region_id: 'RegionOne', url });
  }
}

export interface KeystoneTokenBody {
  expires_at: string;
  project?: { id: string; name: string };
  roles?: Array<{ name: string }>;
  user: { id: string; name: string };
}
