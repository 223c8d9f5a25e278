// Typed access to iproute2's JSON output, failing loudly (ParseError) when it is not what we expect.

export class ParseError extends Error {
  readonly source: string;

  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.source = source;
    this.name = 'ParseError';
  }
}

export type Obj = Record<string, unknown>;

export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ParseError(source, `not JSON (${(e as Error).message})`);
  }
}

export function asArray(v: unknown, source: string): Obj[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null)) throw new ParseError(source, 'expected an array of objects');
  return v as Obj[];
}

export const parseArray = (text: string, source: string): Obj[] => asArray(parseJson(text, source), source);

export function str(o: Obj, key: string, source: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ParseError(source, `field ${key} is not a string: ${JSON.stringify(o).slice(0, 200)}`);
  return v;
}

export function num(o: Obj, key: string, source: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new ParseError(source, `field ${key} is not a number: ${JSON.stringify(o).slice(0, 200)}`);
  return v;
}

export const optStr = (o: Obj, key: string): string | undefined => (typeof o[key] === 'string' ? (o[key] as string) : undefined);
export const optNum = (o: Obj, key: string): number | undefined => (typeof o[key] === 'number' ? (o[key] as number) : undefined);
export const optObj = (o: Obj, key: string): Obj | undefined =>
  typeof o[key] === 'object' && o[key] !== null && !Array.isArray(o[key]) ? (o[key] as Obj) : undefined;
export const strList = (o: Obj, key: string): string[] =>
  Array.isArray(o[key]) ? (o[key] as unknown[]).filter((x): x is string => typeof x === 'string') : [];

/** `ip -j -batch` prints one JSON array per command, one per line. */
export function splitBatchJson(text: string, expected: number, source: string): Obj[][] {
  const parts = text.split('\n').filter((l) => l.trim() !== '');
  if (parts.length !== expected) throw new ParseError(source, `expected ${expected} JSON documents, got ${parts.length}`);
  return parts.map((p, i) => parseArray(p, `${source}#${i + 1}`));
}
