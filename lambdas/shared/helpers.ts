/**
 * Small helpers used across layers (handlers, services, stores). Dependency-free; nothing here
 * knows about HTTP, DynamoDB or the protocol. Everything that runs several writes at once waits for
 * every one of them to settle before it rethrows: a caller never moves on while writes still run.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** A plain JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Awaits every promise, then rethrows the first failure (in the order given). */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order.
 * Every call is let finish before the first failure is rethrown.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * The pause before retry number `attempt` (1, 2, ...) of a write that lost a race: `baseMs` plus a
 * random share of `spreadMs × attempt`, so contenders spread out instead of colliding again.
 */
export function pauseBeforeRetry(attempt: number, baseMs: number, spreadMs = 20): Promise<void> {
  return delay(baseMs + Math.random() * spreadMs * attempt);
}

/** AWS SDK error names of a throttled, failing or timed-out dependency: a retry can succeed. */
export const TRANSIENT_ERROR_NAMES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
]);

/** Node.js error codes of a connection that could not be made or was lost. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/** The claims of a SET besides iss, iat, jti and aud (RFC 8417 §2.2). */
export interface SetEventClaims {
  readonly events: Record<string, unknown>;
  readonly sub?: string | undefined;
  readonly sub_id?: Record<string, unknown> | undefined;
  readonly txn?: string | undefined;
  readonly toe?: number | undefined;
}

/** A SET's claims: the envelope, the events, and the optional members that are present. */
export function setClaims(envelope: { iss: string; iat: number; jti: string; aud: string | string[] }, claims: SetEventClaims): Record<string, unknown> {
  const { events, sub, sub_id, txn, toe } = claims;
  return {
    ...envelope,
    events,
    ...(sub === undefined ? {} : { sub }),
    ...(sub_id === undefined ? {} : { sub_id }),
    ...(txn === undefined ? {} : { txn }),
    ...(toe === undefined ? {} : { toe }),
  };
}
