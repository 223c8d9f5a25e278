// contrib/systemd's units: `systemd-analyze verify` accepts them (with ExecStart pointing at this
// checkout's bin/neutrino, where install-deps.sh links /usr/local/bin/neutrino), the server runs
// with no capability, and the agent with its capabilities and no private mount namespace (the
// network namespaces it mounts under /run/netns must be the host's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '../../src/lab/agents.ts';

const UNITS = ['neutrino-server.service', 'neutrino-agent.service'];
const unitPath = (name: string) => fileURLToPath(new URL(`../../contrib/systemd/${name}`, import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/neutrino', import.meta.url));
const INSTALLED_BIN = '/usr/local/bin/neutrino';

const analyzeMissing = spawnSync('systemd-analyze', ['--version']).error
  ? 'systemd-analyze is not installed (Debian package systemd; scripts/install-deps.sh installs it)'
  : false;

/** The unit's settings of its [Service] section, each name with every value given. */
function serviceSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line.trim());
    if (header) section = header[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (section === 'Service' && kv) out.set(kv[1]!, [...(out.get(kv[1]!) ?? []), kv[2]!]);
  }
  return out;
}

function verify(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-units-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text.replaceAll(INSTALLED_BIN, BIN));
    const r = spawnSync('systemd-analyze', ['verify', ...Object.keys(files).map((n) => join(dir, n))], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('systemd-analyze verify accepts both units', { skip: analyzeMissing }, () => {
  const r = verify(Object.fromEntries(UNITS.map((n) => [n, readFileSync(unitPath(n), 'utf8')])));
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output.trim(), '', 'no warnings either');
});

test('systemd-analyze verify refuses a broken unit (the check above is not vacuous)', { skip: analyzeMissing }, () => {
  const broken = readFileSync(unitPath('neutrino-server.service'), 'utf8').replace(INSTALLED_BIN, '/nonexistent/neutrino');
  const r = verify({ 'neutrino-server.service': broken });
  assert.notEqual(r.status, 0);
  assert.match(r.output, /nonexistent/);
});

test('the server runs unprivileged, with no capability', () => {
  const s = serviceSettings(readFileSync(unitPath('neutrino-server.service'), 'utf8'));
  assert.deepEqual(s.get('User'), ['neutrino']);
  assert.deepEqual(s.get('CapabilityBoundingSet'), ['']);
  assert.deepEqual(s.get('AmbientCapabilities'), ['']);
  assert.deepEqual(s.get('NoNewPrivileges'), ['yes']);
  assert.deepEqual(s.get('ProtectSystem'), ['strict']);
  // V8 needs writable, executable memory for its JIT.
  assert.equal(s.get('MemoryDenyWriteExecute'), undefined);
});

test("the agent has the capabilities it shapes the kernel with, and the host's mount namespace", () => {
  const s = serviceSettings(readFileSync(unitPath('neutrino-agent.service'), 'utf8'));
  const caps = new Set((s.get('CapabilityBoundingSet') ?? []).join(' ').split(/\s+/));
  for (const cap of ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_KILL']) assert.ok(caps.has(cap), cap);
  assert.ok(!caps.has('CAP_SYS_MODULE') && !caps.has('CAP_SYS_PTRACE'));
  for (const own of ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ReadWritePaths'])
    assert.equal(s.get(own), undefined, `${own} would give the agent a private mount namespace`);
  assert.equal(s.get('User'), undefined, 'root, bounded by CapabilityBoundingSet');
});

test("the agent's unit runs it with the lab's Node.js flags and environment", () => {
  const env = serviceSettings(readFileSync(unitPath('neutrino-agent.service'), 'utf8')).get('Environment') ?? [];
  assert.ok(env.includes(`NODE_OPTIONS=${AGENT_NODE_FLAGS.join(' ')}`), env.join('; '));
  for (const [k, v] of Object.entries(AGENT_ENV)) assert.ok(env.includes(`${k}=${v}`), `${k}=${v}`);
});

test(
  'ExecStart runs commands and options the CLI has',
  { skip: existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)' },
  () => {
    for (const name of UNITS) {
      const [exec] = serviceSettings(readFileSync(unitPath(name), 'utf8')).get('ExecStart') ?? [];
      const argv = exec!.split(/\s+/);
      assert.equal(argv[0], INSTALLED_BIN);
      const help = spawnSync(BIN, [argv[1]!, '--help'], { encoding: 'utf8' });
      assert.equal(help.status, 0, help.stderr);
      for (const flag of argv.filter((a) => a.startsWith('--'))) assert.ok(help.stdout.includes(flag), `${name}: ${flag}`);
    }
  },
);
