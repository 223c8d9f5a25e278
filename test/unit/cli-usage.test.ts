// The `neutrino` command's surface: every command and option explains itself, defaults are shown once
// (Commander's "(default: …)"), and usage errors exit 2, not 1 (which means "broken" to a monitoring
// check). The exit-status tests run the built command (npm run build); the help walk needs no build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.ts';
import { neutrino } from '../helpers/neutrino-cli.ts';

const built = existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)';

function allCommands(cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => {
    const p = [...path, c.name()];
    return [{ path: p.join(' '), cmd: c }, ...allCommands(c, p)];
  });
}

test('every command, argument and option has a description; each default is shown once, by Commander', () => {
  const program = buildProgram();
  const commands = allCommands(program);
  assert.ok(commands.length >= 15, `walked ${commands.length} commands`);
  for (const { path, cmd } of commands) {
    assert.ok(cmd.description().trim(), `'${path}' has no description`);
    const help = cmd.createHelp();
    for (const arg of cmd.registeredArguments) assert.ok(arg.description.trim(), `'${path}' argument <${arg.name()}> has no description`);
    for (const opt of cmd.options) {
      assert.ok(opt.description.trim(), `'${path} ${opt.flags}' has no description`);
      // A default written into the text as well as given to Commander shows up twice.
      assert.doesNotMatch(
        opt.description,
        /\(default\b|\bdefault:|\bdefaults? (is|to)\b/i,
        `'${path} ${opt.flags}': give the default to Commander, not the description`,
      );
      const shown = help.optionDescription(opt).match(/\bdefault:/g) ?? [];
      assert.ok(shown.length <= 1, `'${path} ${opt.flags}' shows a default ${shown.length} times: ${help.optionDescription(opt)}`);
    }
  }
});

test('trace port names its argument a port id and --port a TCP/UDP port number', () => {
  const trace = buildProgram().commands.find((c) => c.name() === 'trace')!;
  const port = trace.commands.find((c) => c.name() === 'port')!;
  assert.deepEqual(
    port.registeredArguments.map((a) => a.name()),
    ['port-id'],
  );
  const flag = port.options.find((o) => o.long === '--port')!;
  assert.equal(flag.flags, '--port <number>');
  assert.match(flag.description, /TCP\/UDP/);
});

test('--help documents the exit statuses; help and version exit 0', { skip: built }, async () => {
  const [help, version, traceHelp] = await Promise.all([neutrino(['--help']), neutrino(['--version']), neutrino(['trace', '--help'])]);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /Exit status:\n {2}0 {2}success.*\n {2}1 {2}the thing checked is broken.*\n {2}2 {2}usage or environment error[^]*\n {2}3 {2}inconclusive/,
  );
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(traceHelp.code, 0);
  assert.match(traceHelp.stdout, /Exit status \(the report's verdict\): 0 healthy, 1 the path is broken, 2 usage or environment/);
});

const usageErrors: Array<[string, string[], RegExp]> = [
  ['unknown flag (server)', ['server', '--no-such-flag'], /^error: unknown option '--no-such-flag'/],
  ['unknown flag (agent)', ['agent', '--config', '/nonexistent', '--bogus'], /unknown option '--bogus'/],
  ['unknown flag (lab up)', ['lab', 'up', '--bogus'], /unknown option '--bogus'/],
  ['unknown flag (demo)', ['demo', '--bogus'], /unknown option '--bogus'/],
  ['unknown flag (trace fip)', ['trace', 'fip', '10.0.0.1', '--bogus'], /unknown option '--bogus'/],
  ['no command', [], /Usage: neutrino/],
  ['missing argument (trace fip)', ['trace', 'fip'], /missing required argument 'address'/],
  ['missing argument (instance delete)', ['instance', 'delete'], /missing required argument 'name'/],
  ['missing required option (agent)', ['agent'], /required option '--config <file>' not specified/],
  ['bad choice (server --log-level)', ['server', '--log-level', 'loud'], /argument 'loud' is invalid/],
  [
    'bad value (server --listen)',
    ['server', '--listen', 'nowhere', '--state-dir', '/nonexistent'],
    /^neutrino: invalid --listen 'nowhere'/,
  ],
  // node's own binary is a file: a directory cannot be made under it.
  [
    'state dir under a file (server)',
    ['server', '--state-dir', `${process.execPath}/x`, '--listen', '127.0.0.1:0'],
    /^neutrino: ENOTDIR: not a directory, mkdir '.*\/x'/,
  ],
  ['unreadable config (agent)', ['agent', '--config', '/nonexistent/agent.ini'], /^neutrino: cannot read \/nonexistent\/agent.ini/],
  [
    'lab not up (instance list)',
    ['instance', 'list', '--lab', 'nosuchlab', '--state-root', '/nonexistent'],
    /^neutrino: lab 'nosuchlab' is not up/,
  ],
  [
    'bad usage (trace fip)',
    ['trace', 'fip', 'not-an-ip', '--snapshot', '/nonexistent'],
    /^neutrino trace: 'not-an-ip' is not an IPv4 address\n$/,
  ],
];

test('usage and environment errors exit 2 with a one-line reason, on every command', { skip: built }, async () => {
  const results = await Promise.all(usageErrors.map(([, args]) => neutrino(args, 30_000)));
  usageErrors.forEach(([what, args], i) => {
    const r = results[i]!;
    assert.equal(r.code, 2, `${what}: neutrino ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, usageErrors[i]![2], what);
    if (what !== 'no command') assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line\n${r.stderr}`);
  });
});
