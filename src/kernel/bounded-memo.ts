// A value made once per key and kept, for pure functions every pass asks again with the same keys
// (device names, canonical prefixes). Emptied when it holds more than `max`: a large node's worth.
export class BoundedMemo<V> {
  private readonly kept = new Map<string, V>();

  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** The kept value of `key`, or `make()`'s, kept (a `make` that throws keeps nothing). */
  get(key: string, make: () => V): V {
    let value = this.kept.get(key);
    if (value === undefined) {
      value = make();
      if (this.kept.size >= this.max) this.kept.clear();
      this.kept.set(key, value);
    }
    return value;
  }
}
