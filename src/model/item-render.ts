// Items as a caller receives them — without the attributes only an admin reads (visibleTo), with only
// the `fields` asked for (selectFields) — cheap enough for lists of thousands. Copying an item key by
// key builds objects that also serialise slowly: a list of 5,000 ports spent more time in that copy
// and its JSON than in reading the rows. The copy is compiled once per shape (the item's keys in
// order) into an object literal, which JSON.stringify then takes on its fast path; an item of another
// shape gets a copier of its own, and anything unusual the generic copy. The result is the same
// object, key for key and in the same order, as selectFields(visibleTo(item)).
import { adminReadNames, visibleTo, type ResourceSpec } from './attributes.ts';
import type { AuthContext } from './context.ts';

type Item = Record<string, unknown>;
export type Render = (item: Item) => Item;

/** Shapes compiled per resource at most; items of a resource come in a handful of shapes. */
const MAX_SHAPES = 32;
const copiers = new WeakMap<ResourceSpec, Map<string, Render>>();

/** Whether the item's own enumerable keys are exactly `keys`, in that order (no array is built). */
function hasShape(item: Item, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in item) if (k !== keys[i++]) return false;
  return i === keys.length;
}

/** `(o) => ({"id": o["id"], …})` over the visible keys; a key is a JSON string, hence a JS string literal. */
function compileCopier(keys: readonly string[], hidden: ReadonlySet<string>): Render {
  const props = keys.filter((k) => !hidden.has(k)).map((k) => `${JSON.stringify(k)}: o[${JSON.stringify(k)}]`);
  return new Function('o', `return { ${props.join(', ')} };`) as Render;
}

/** The copier of `keys`' shape, or null when a literal cannot make it (`__proto__` sets a prototype). */
function copierFor(spec: ResourceSpec, keys: readonly string[], hidden: ReadonlySet<string>): Render | null {
  if (keys.includes('__proto__')) return null;
  let shapes = copiers.get(spec);
  if (!shapes) copiers.set(spec, (shapes = new Map()));
  const key = keys.join('\n');
  let copy = shapes.get(key);
  if (!copy && shapes.size < MAX_SHAPES) shapes.set(key, (copy = compileCopier(keys, hidden)));
  return copy ?? null;
}

/** How to render each item of one request: the same function for every item of a list. */
export function itemRenderer(spec: ResourceSpec, ctx: AuthContext, fields: readonly string[] | null): Render {
  const hidden: ReadonlySet<string> = ctx.isAdmin ? new Set() : adminReadNames(spec);
  if (fields) {
    // `__proto__` is no attribute: copied, it would set the copy's prototype rather than a key.
    const wanted = fields.filter((f) => !hidden.has(f) && f !== '__proto__');
    return (item) => {
      const out: Item = {};
      for (const f of wanted) if (Object.hasOwn(item, f)) out[f] = item[f];
      return out;
    };
  }
  if (!hidden.size) return (item) => item;
  let keys: string[] = [];
  let copy: Render | null = null;
  return (item) => {
    if (!hasShape(item, keys)) {
      keys = Object.keys(item);
      copy = copierFor(spec, keys, hidden);
    }
    return copy ? copy(item) : visibleTo(spec, item, ctx);
  };
}
