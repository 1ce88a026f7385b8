/**
 * A memo for pure functions that run on every status poll with the same inputs again and again
 * (URL signatures for the same key and expiry second, timestamps formatted to the second).
 * Emptied when full, so it never holds more than `max` entries and needs no LRU bookkeeping.
 */
export class BoundedMemo<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly max = 4096) {}

  get(key: K, make: (key: K) => V): V {
    let v = this.map.get(key);
    if (v === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      v = make(key);
      this.map.set(key, v);
    }
    return v;
  }
}
