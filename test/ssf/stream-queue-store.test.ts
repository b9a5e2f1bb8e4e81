/**
 * StreamQueueStore wraps the queue the Notifier and producers enqueue to; every method other than
 * `enqueue` must reach the wrapped store unchanged. The table below is typed by QueueStore's own
 * keys, so a method added to QueueStore fails the type check until it is listed here, and then
 * fails this test until ForwardingQueueStore (StreamQueueStore's base) forwards it.
 */
import { describe, expect, it } from 'vitest';
import { StreamQueueStore } from '../../lambdas/ssf/stream-queue-store.ts';
import { ForwardingQueueStore } from '../../lambdas/store/forwarding-queue-store.ts';
import type { QueueStore } from '../../lambdas/store/queue-store.ts';
import type { StreamStore } from '../../lambdas/store/stream-store.ts';

type Forwarded = Exclude<keyof QueueStore, 'enqueue'>;

const report = { err: 'invalid_key', description: 'd' };
const ARGS: { readonly [K in Forwarded]: Parameters<QueueStore[K]> } = {
  readLease: ['tpp-a', true],
  readHead: ['tpp-a', 7, false],
  readQueue: ['tpp-a', 3, { pk: 'x' }, true],
  writeLease: ['tpp-a', 4, new Map([['j1', 1]]), new Set(['j1'])],
  deleteSets: ['tpp-a', ['j1', 'j2']],
  acknowledge: ['tpp-a', ['j3']],
  recordError: ['tpp-a', 'j4', report, 123],
  noteError: ['tpp-a', 'j5', report, 456],
  markFailed: ['tpp-a', { jti: 'j6', set: 's', ttl: 9, attempts: 2 }, 789],
  countAttempts: ['tpp-a', ['j7']],
  readRecord: ['tpp-a', 'j8'],
};

/** A wrapped store that records each call and answers a token naming the method. */
function recordingQueue(calls: { method: string; args: unknown[] }[]): QueueStore {
  return new Proxy({} as QueueStore, {
    get: (_target, method) =>
      async (...args: unknown[]) => {
        calls.push({ method: String(method), args });
        return `answer of ${String(method)}`;
      },
  });
}

describe('StreamQueueStore', () => {
  it('forwards every QueueStore method but enqueue to the wrapped store, arguments and answer unchanged', async () => {
    // Arrange
    const calls: { method: string; args: unknown[] }[] = [];
    const store = new StreamQueueStore({ queue: recordingQueue(calls), streams: {} as StreamStore, issuer: 'https://issuer.example' });
    const methods = Object.keys(ARGS) as Forwarded[];
    // Act
    const answers = [];
    for (const method of methods) {
      expect(Object.hasOwn(ForwardingQueueStore.prototype, method), `ForwardingQueueStore defines ${method}`).toBe(true);
      answers.push(await (store[method] as (...args: unknown[]) => Promise<unknown>)(...ARGS[method]));
    }
    // Assert
    expect(calls).toEqual(methods.map((method) => ({ method, args: ARGS[method] })));
    expect(answers).toEqual(methods.map((method) => `answer of ${method}`));
  });
});
