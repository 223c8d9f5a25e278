// The pure pieces behind "bad input gets a 4xx": JSON depth counting, what cannot be stored as given,
// echo capping, and extra DHCP options (check and merge).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonDepth, MAX_JSON_DEPTH, parseJsonBody, unrepresentable } from '../../src/api/json-body.ts';
import { echo, NeutronError } from '../../src/model/errors.ts';
import { dhcpOptsOnCreate, dhcpOptsOnUpdate, parseDhcpOpts } from '../../src/model/dhcp-opts.ts';

const depthOf = (v: unknown): number =>
  v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;

test('jsonDepth counts nesting without parsing, ignoring brackets inside strings', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      assert.equal(jsonDepth(JSON.stringify(v)), depthOf(v));
    }),
    { seed: 7, numRuns: 500 },
  );
  assert.equal(jsonDepth('["[[[", {"a": "]]}{{"}]'), 2);
  assert.equal(jsonDepth('["\\"[[["]'), 1);
  assert.equal(jsonDepth('['.repeat(1_000_000), 5), 6, 'stops counting past the limit');
});

test('parseJsonBody refuses what would not be stored as sent', () => {
  const parse = (text: string | Buffer) => parseJsonBody(typeof text === 'string' ? Buffer.from(text) : text);
  assert.equal(parse('  '), undefined);
  assert.deepEqual(parse('{"a":["\\ud83d\\ude00"]}'), { a: ['\u{1F600}'] });
  assert.deepEqual(
    parse(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`),
    JSON.parse(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`),
  );
  const refusal = (text: string | Buffer) => {
    try {
      parse(text);
    } catch (e) {
      assert.ok(e instanceof NeutronError);
      assert.equal(e.status, 400);
      return e.message;
    }
    assert.fail(`accepted ${String(text).slice(0, 40)}`);
  };
  assert.match(refusal('['.repeat(MAX_JSON_DEPTH + 1)), /nested deeper than 32 levels/);
  assert.match(refusal('{"x":"\\udc00"}'), /lone surrogate/);
  assert.match(refusal('{"\\ud800":1}'), /lone surrogate/);
  assert.match(refusal('[1e400]'), /number out of range/);
  assert.match(refusal('{"name":"a\\u0000b"}'), /NUL character/);
  assert.match(refusal('{"a\\u0000":1}'), /NUL character/);
  assert.match(refusal(Buffer.from([0x22, 0xc3, 0x28, 0x22])), /invalid UTF-8/);
  assert.equal(refusal('{"a":'), 'Malformed request body');
  assert.equal(unrepresentable({ a: [1, 'b', { c: null }] }), undefined);
});

test('echo caps long text with an ellipsis and never splits a surrogate pair', () => {
  assert.equal(echo('short'), 'short');
  assert.equal(echo('x'.repeat(300)), `${'x'.repeat(255)}...`);
  const cut = echo(`${'x'.repeat(254)}\u{1F600}tail`);
  assert.equal(cut, `${'x'.repeat(254)}...`);
  assert.ok(new NeutronError(400, 'T', 'm'.repeat(100_000)).message.length < 1100);
});

test('extra DHCP options: Neutron key specs, creation skips empty values, updates merge by name and IP version', () => {
  const opts = parseDhcpOpts([
    { opt_name: 'router', opt_value: '' },
    { opt_name: 'tftp-server', opt_value: '10.0.0.1', ip_version: '6' },
    { opt_name: 'mtu', opt_value: null },
  ]);
  assert.deepEqual(
    opts.map((o) => o.ip_version),
    [4, 6, 4],
  );
  const stored = dhcpOptsOnCreate(opts);
  assert.deepEqual(stored, [
    { opt_name: 'router', opt_value: '', ip_version: 4 },
    { opt_name: 'tftp-server', opt_value: '10.0.0.1', ip_version: 6 },
  ]);
  const merged = dhcpOptsOnUpdate(
    stored,
    parseDhcpOpts([
      { opt_name: 'tftp-server', opt_value: '10.0.0.2' }, // IPv4: a new option, the IPv6 one stays
      { opt_name: 'router', opt_value: null }, // removed
      { opt_name: 'mtu', opt_value: null }, // removing what is not there: nothing
    ]),
  );
  assert.deepEqual(merged, [
    { opt_name: 'tftp-server', opt_value: '10.0.0.1', ip_version: 6 },
    { opt_name: 'tftp-server', opt_value: '10.0.0.2', ip_version: 4 },
  ]);
  assert.deepEqual(parseDhcpOpts(null), []);
  for (const bad of [
    {},
    'x',
    [{ opt_name: 'a', opt_value: 'b\nc' }],
    [{ opt_name: ' ', opt_value: 'b' }],
    [{ opt_name: 'x'.repeat(65), opt_value: 'b' }],
    [{ opt_name: 'a', opt_value: 'b', ip_version: 'four' }],
    [{ opt_name: 'mtu', opt_value: '' }],
  ]) {
    assert.throws(
      () => parseDhcpOpts(bad),
      (e: NeutronError) => e.status === 400 && e.type === 'InvalidInput',
      JSON.stringify(bad),
    );
  }
  // A trailing line break ends the line (Python's splitlines), it does not start a second one.
  assert.equal(parseDhcpOpts([{ opt_name: 'a', opt_value: 'b\n' }])[0].opt_value, 'b\n');
});
