/**
 * Stands in for mnemonist's `lru-cache` in the Lambda bundles only (esbuild alias, see
 * lib/constructs/function-defaults.ts). Its one user there is @aws-sdk/endpoint-cache, which every
 * SDK client with endpoint discovery (DynamoDB's) builds, whether discovery is on or not, and which
 * calls only what is below. mnemonist's typed-array cache and its iterator helpers are about 7 KiB
 * of minified code in the poll bundle; a Map keeps keys in insertion order, so re-inserting a key on
 * use keeps the least recently used one first, to be evicted when the cache is over capacity.
 */
export default class LRUCache<K, V> {
  readonly #capacity: number;
  readonly #items = new Map<K, V>();

  constructor(capacity: number) {
    // As mnemonist checks it.
    if (typeof capacity !== 'number' || capacity <= 0) throw new Error('mnemonist/lru-cache: capacity should be positive number.');
    this.#capacity = capacity;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.#items.has(key)) return undefined;
    const value = this.#items.get(key) as V;
    this.#items.delete(key);
    this.#items.set(key, value);
    return value;
  }

  /** The value, its place in the order unchanged. */
  peek(key: K): V | undefined {
    return this.#items.get(key);
  }

  has(key: K): boolean {
    return this.#items.has(key);
  }

  /** Stores the value as the most recently used, evicting the least recently used over capacity. */
  set(key: K, value: V): this {
    this.#items.delete(key);
    this.#items.set(key, value);
    if (this.#items.size > this.#capacity) this.#items.delete(this.#items.keys().next().value as K);
    return this;
  }

  clear(): void {
    this.#items.clear();
  }
}
