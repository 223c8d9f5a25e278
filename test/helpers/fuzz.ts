// Building blocks of the fuzz suite: junk values (wrong types, huge numbers, deep nesting, odd
// Unicode, prototype keys, long strings), "mostly valid, sometimes junk" attribute values, and
// request bodies that keep keys such as __proto__ as plain own properties.
import fc from 'fast-check';

/** Keys that would find Object.prototype's members if looked up carelessly. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

/** An object with the given own enumerable entries, `__proto__` included as a plain key. */
export function plain(entries: Array<[string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const oddText = fc.constantFrom(
  '',
  ' ',
  '\n',
  'a\nb',
  '\t',
  '\u0000',
  '\u202e',
  '\ud800x',
  'x\udfff',
  '\ud83d\ude00',
  'e\u0301',
  '\ufeff',
  '\uffff',
  'default',
  'true',
  'None',
  'null',
  '0',
  '-1',
  '1e400',
  '[]',
  '{}',
  '%00',
  '../..',
  "'; DROP TABLE networks;--",
  ...PROTO_KEYS,
);

export const hugeNumber = fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 1e21, 4294967296, 65536, -1, 0.5, 1.0000001);

/** Strings of every kind: short, full-Unicode (lone surrogates included), odd and long. */
export const junkString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  oddText,
  fc.integer({ min: 250, max: 260 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => 'L'.repeat(n)),
);

/** Arrays or objects nested `depth` levels deep (the body limit is 32 levels). */
export const deepValue = fc.tuple(fc.integer({ min: 2, max: 80 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

const scalarJunk = fc.oneof(
  fc.boolean(),
  fc.integer(),
  hugeNumber,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  junkString,
  fc.constant(null),
);

/** Any JSON value a client should not send: wrong types, nesting, prototype keys. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: scalarJunk },
  { weight: 2, arbitrary: fc.array(scalarJunk, { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...PROTO_KEYS, 'x', 'opt_name'), scalarJunk).map(([k, v]) => plain([[k, v]])) },
  { weight: 1, arbitrary: deepValue },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Mostly a plausible value, sometimes junk. */
export const mostly = <T>(valid: fc.Arbitrary<T>, validWeight = 12): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: validWeight, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk });

/** An attribute that is usually left out (undefined is dropped by `attributes`): one that often conflicts. */
export const sometimes = <T>(arb: fc.Arbitrary<T>, absentWeight = 4): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: absentWeight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** What happens to a valid attribute set: nothing, one value turned to junk, one key added, one dropped. */
type Mutation = ['none'] | ['junk', number, unknown] | ['extra', string, unknown] | ['drop', number];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(['none'] as Mutation) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('junk' as const), fc.nat(), junk) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant('extra' as const),
      fc.oneof(fc.constantFrom(...PROTO_KEYS, 'tenant_id', 'project_id', 'id', 'status'), fc.string({ maxLength: 8 })),
      junk,
    ),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constant('drop' as const), fc.nat()) },
);

/**
 * Attribute sets: the required attributes and any subset of the optional ones, valid; then, half the
 * time, one value replaced by junk, one unknown or prototype key added, or one attribute dropped.
 * `privileged` attributes (admin-only) join now and then.
 */
export function attributes(
  valid: Record<string, fc.Arbitrary<unknown>>,
  required: string[] = [],
  privileged: Record<string, fc.Arbitrary<unknown>> = {},
): fc.Arbitrary<Record<string, unknown>> {
  const base = fc.record(valid, { requiredKeys: required });
  const extra = fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record(privileged, { requiredKeys: [] }) });
  return fc.tuple(base, extra, mutation).map(([b, p, m]) => {
    const entries = [...Object.entries(b), ...Object.entries(p)].filter(([, v]) => v !== undefined);
    if (m[0] === 'junk' && entries.length) entries[m[1] % entries.length] = [entries[m[1] % entries.length][0], m[2]];
    if (m[0] === 'extra') entries.push([m[1], m[2]]);
    if (m[0] === 'drop' && entries.length) entries.splice(m[1] % entries.length, 1);
    return plain(entries);
  });
}

/** A create/update body: wrapped as Neutron expects, in bulk, or junk at the top level. */
export function body(singular: string, plural: string | null, attrs: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  const shapes: Array<fc.WeightedArbitrary<unknown>> = [
    { weight: 12, arbitrary: attrs.map((a) => plain([[singular, a]])) },
    { weight: 1, arbitrary: junk },
    { weight: 1, arbitrary: junk.map((j) => plain([[singular, j]])) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PROTO_KEYS), attrs).map(([k, a]) => plain([[k, plain([[singular, a]])]])) },
  ];
  if (plural) {
    shapes.push({ weight: 2, arbitrary: fc.array(attrs, { maxLength: 3 }).map((items) => plain([[plural, items]])) });
    shapes.push({ weight: 1, arbitrary: junk.map((j) => plain([[plural, j]])) });
  }
  return fc.oneof(...shapes);
}

/** Raw request bodies that are not the JSON of any value. */
export const rawJunkBody = fc.constantFrom(
  '['.repeat(40_000),
  '{"a":'.repeat(15_000),
  '{"network": ',
  '\u0000',
  '{"network":{"name":"\\ud800"}}',
  '{"network":{"mtu":1e400}}',
  '{"port":{"binding:profile":{"a":-1e999}}}',
  '{"__proto__":{"__proto__":{"admin":true}}}',
  'null',
  '"text"',
  '12',
  '[]',
);

export const ipv4 = fc.tuple(fc.constantFrom(10, 172, 192, 203), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
/** Mostly aligned prefixes inside 10/8 (sometimes with host bits set, which is refused). */
export const cidr4 = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.constantFrom(16, 22, 24, 24, 26, 28, 29), fc.nat(9))
  .map(([a, b, c, len, odd]) => {
    const value = ((10 << 24) | (a << 16) | (b << 8) | c) >>> 0;
    const network = odd === 0 ? value : (value & (~0 << (32 - len))) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (network >>> s) & 255).join('.')}/${len}`;
  });
export const mac = fc
  .array(fc.nat(255), { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));

/** encodeURIComponent that also encodes lone surrogates (as the invalid UTF-8 a hostile client sends). */
export function encodeAny(s: string): string {
  return s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g, (ch) => {
    if (ch.length === 2 || ch.charCodeAt(0) < 0xd800 || ch.charCodeAt(0) > 0xdfff) return encodeURIComponent(ch);
    const c = ch.charCodeAt(0);
    return [0xed, 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
  });
}
