import { KMSClient, GetPublicKeyCommand, type KMSClientConfig } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { isTransient } from '../../lambdas/http/error-handler.ts';
import { SDK_CALL_RESERVE_MS, callBudgetMs, deadlineOf, runWithDeadline, withDeadline } from '../../lambdas/runtime/deadline.ts';

/** A KMS client whose HTTP handler never answers: a hung dependency. Counts the requests it swallowed. */
function hungKms(): { kms: KMSClient; requests: () => number } {
  let requests = 0;
  const requestHandler = {
    handle: () => {
      requests++;
      return new Promise<never>(() => undefined);
    },
  } as unknown as KMSClientConfig['requestHandler'];
  const kms = new KMSClient({ region: 'eu-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestHandler, maxAttempts: 3 });
  return { kms: withDeadline(kms), requests: () => requests };
}

const getKey = (kms: KMSClient) => kms.send(new GetPublicKeyCommand({ KeyId: 'arn:aws:kms:eu-west-2:123456789012:key/12345678-90ab-cdef-1234-567890abcdef' }));

describe('SDK call deadline', () => {
  it('gives each call the invocation remaining time less the reserve for answering', () => {
    // Prepare
    const now = 1_000_000;
    // Act
    const inside = runWithDeadline(now + 5000, () => callBudgetMs(now));
    const late = runWithDeadline(now + 500, () => callBudgetMs(now));
    // Assess
    expect(inside).toBe(5000 - SDK_CALL_RESERVE_MS);
    expect(late).toBe(0);
    expect(callBudgetMs(now)).toBeUndefined();
  });

  it('reads the deadline from the Lambda context, if it has one', () => {
    // Prepare / Act / Assess
    expect(deadlineOf({ getRemainingTimeInMillis: () => 2500 }, 1000)).toBe(3500);
    expect(deadlineOf({}, 1000)).toBeUndefined();
    expect(deadlineOf(undefined)).toBeUndefined();
  });

  it('ends a hung call with a TimeoutError before the invocation runs out', async () => {
    // Prepare
    const { kms, requests } = hungKms();
    const started = Date.now();
    // Act
    const error = await runWithDeadline(started + 1500, () => getKey(kms)).catch((e: unknown) => e as Error);
    const elapsed = Date.now() - started;
    // Assess: 1500 ms left, 1000 ms kept back: the call gives up after about 500 ms.
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    expect((error as Error).message).toMatch(/^The AWS call did not finish within (4[5-9][0-9]|500) ms$/);
    expect(isTransient(error)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1400);
    expect(requests()).toBe(1);
  });

  it('does not start a call when no time is left', async () => {
    // Prepare
    const { kms, requests } = hungKms();
    // Act
    const error = await runWithDeadline(Date.now() + SDK_CALL_RESERVE_MS - 1, () => getKey(kms)).catch((e: unknown) => e as Error);
    // Assess
    expect((error as Error).name).toBe('TimeoutError');
    expect(requests()).toBe(0);
  });

  it('leaves calls outside an invocation to the SDK (the CLI, the benchmark)', async () => {
    // Prepare
    const { kms, requests } = hungKms();
    // Act
    const outcome = await Promise.race([
      getKey(kms).then(() => 'answered', () => 'failed'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 800)),
    ]);
    // Assess
    expect(outcome).toBe('still waiting');
    expect(requests()).toBe(1);
  });

  it('keeps concurrent invocations apart (the local stack serves many at once)', async () => {
    // Prepare
    const now = Date.now();
    // Act
    const [a, b] = await Promise.all([
      runWithDeadline(now + 3000, async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return callBudgetMs(now);
      }),
      runWithDeadline(now + 9000, async () => callBudgetMs(now)),
    ]);
    // Assess
    expect(a).toBe(2000);
    expect(b).toBe(8000);
  });
});
