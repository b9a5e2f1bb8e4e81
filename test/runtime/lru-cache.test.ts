/**
 * lambdas/runtime/lru-cache.ts stands in for mnemonist's LRUCache in the Lambda bundles: the same
 * operations, in the same order, must answer the same as mnemonist's own cache, and leave the
 * SDK's EndpointCache (its one user there) working as with mnemonist.
 */
import { createRequire } from 'node:module';
import { EndpointCache } from '@aws-sdk/endpoint-cache';
import { describe, expect, it } from 'vitest';
import LRUCache from '../../lambdas/runtime/lru-cache.ts';

// mnemonist is @aws-sdk/endpoint-cache's dependency, not setpoll's: loaded from beside it.
const fromEndpointCache = createRequire(createRequire(import.meta.url).resolve('@aws-sdk/endpoint-cache'));
const MnemonistLRUCache = fromEndpointCache('mnemonist/lru-cache') as new (capacity: number) => {
  get(key: string): number | undefined;
  peek(key: string): number | undefined;
  has(key: string): boolean;
  set(key: string, value: number): unknown;
  clear(): void;
};

/** A fixed pseudo-random sequence (a linear congruential generator), so a failure replays. */
function* numbers(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    yield state;
  }
}

describe('the LRU cache stand-in', () => {
  it('answers 5,000 mixed operations exactly as mnemonist does, evictions included', () => {
    // Prepare: a capacity of 4 over 9 keys, so evictions happen often.
    const ours = new LRUCache<string, number>(4);
    const theirs = new MnemonistLRUCache(4);
    const random = numbers(42);
    const answers: { ours: unknown[]; theirs: unknown[] } = { ours: [], theirs: [] };
    // Act
    for (let i = 0; i < 5000; i++) {
      const op = random.next().value % 5;
      const key = `k${random.next().value % 9}`;
      for (const [cache, out] of [[ours, answers.ours], [theirs, answers.theirs]] as const) {
        if (op === 0) out.push(cache.get(key));
        else if (op === 1) out.push(cache.peek(key));
        else if (op === 2) out.push(cache.has(key));
        else if (op === 3) cache.set(key, i);
        else if (i % 500 === 0) cache.clear();
        else out.push(cache.get(key));
      }
    }
    // Assess
    expect(answers.ours.length).toBeGreaterThan(2000);
    expect(answers.ours).toEqual(answers.theirs);
  });

  it('evicts the least recently used key, where a get counts as a use and a peek does not', () => {
    // Prepare
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    // Act
    cache.get('a');
    cache.set('c', 3);
    cache.peek('a');
    cache.set('d', 4);
    // Assess: b went first (a was used after it), then a (the peek did not count).
    expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.has('d')]).toEqual([false, false, true, true]);
  });

  it('refuses a capacity that is not a positive number, as mnemonist does', () => {
    expect(() => new LRUCache(0)).toThrow('mnemonist/lru-cache: capacity should be positive number.');
    expect(() => new MnemonistLRUCache(0)).toThrow('mnemonist/lru-cache: capacity should be positive number.');
  });

  it("keeps the SDK's EndpointCache answering its endpoints when it runs on the stand-in", () => {
    // Prepare: EndpointCache as the bundles build it, its cache swapped for the stand-in.
    const endpoints = new EndpointCache(2);
    (endpoints as unknown as { cache: unknown }).cache = new LRUCache(2);
    // Act
    endpoints.set('dynamodb', [{ Address: 'dynamodb.eu-west-2.amazonaws.com', CachePeriodInMinutes: 1 }]);
    endpoints.set('expired', [{ Address: 'old.example', CachePeriodInMinutes: 0 }]);
    // Assess
    expect(endpoints.getEndpoint('dynamodb')).toBe('dynamodb.eu-west-2.amazonaws.com');
    expect(endpoints.getEndpoint('expired')).toBeUndefined();
    expect(endpoints.has('expired')).toBe(false);
  });
});
