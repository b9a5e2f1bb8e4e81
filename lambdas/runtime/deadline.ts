import { AsyncLocalStorage } from 'node:async_hooks';
import type { InitializeMiddleware, MiddlewareStack } from '@smithy/types';
import type { Context } from 'aws-lambda';

/**
 * A deadline on every AWS SDK call, sized from the invocation's remaining time.
 *
 * Without one, a hung DynamoDB, KMS or Lambda call runs into the function's timeout, and API
 * Gateway then answers a bare 500. With one, the call gives up while there is still time to answer:
 * it fails with a `TimeoutError`, which the error middleware turns into 503 with Retry-After
 * (lambdas/http/error-handler.ts, isTransient).
 *
 * The deadline is per invocation (AsyncLocalStorage, so the local stack's concurrent requests each
 * have their own). Outside an invocation (the CLI, the benchmark) calls keep the SDK's own behaviour.
 */
const current = new AsyncLocalStorage<{ readonly deadline: number }>();

/** Kept back from the remaining time for answering 503 once a call gives up. */
export const SDK_CALL_RESERVE_MS = 1000;
/** Epoch ms at which the invocation ends, when the context knows. */
export function deadlineOf(context: Partial<Pick<Context, 'getRemainingTimeInMillis'>> | undefined, now = Date.now()): number | undefined {
  return typeof context?.getRemainingTimeInMillis === 'function' ? now + context.getRemainingTimeInMillis() : undefined;
}

/** Runs `fn` with its SDK calls bounded by `deadline` (epoch ms); unbounded when undefined. */
export function runWithDeadline<T>(deadline: number | undefined, fn: () => T): T {
  return deadline === undefined ? fn() : current.run({ deadline }, fn);
}

/** How long an SDK call started now may take; undefined outside an invocation with a deadline. */
export function callBudgetMs(now = Date.now()): number | undefined {
  const store = current.getStore();
  return store ? Math.max(0, store.deadline - now - SDK_CALL_RESERVE_MS) : undefined;
}

/** The error of a call that gave up: named as the SDK names its own timeouts (isTransient knows it). */
export function sdkTimeout(budgetMs: number): Error {
  return Object.assign(new Error(`The AWS call did not finish within ${budgetMs} ms`), { name: 'TimeoutError' });
}

/** Any client's stack: the middleware only times the call, whatever its input and output. */
type AnyStack = MiddlewareStack<any, any>;

/**
 * Bounds every call of `client` (all attempts and the SDK's retry delays together) by callBudgetMs.
 * A call that gives up leaves its request to the SDK's own socket timeouts; its late answer is ignored.
 * The outermost middleware (initialize step, high priority), so the budget covers the retries.
 */
export function withDeadline<C extends { readonly middlewareStack: AnyStack }>(client: C): C {
  const deadline: InitializeMiddleware<object, object> =
    (next) => async (args) => {
      const budget = callBudgetMs();
      if (budget === undefined) return next(args);
      if (budget <= 0) throw sdkTimeout(0);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(sdkTimeout(budget)), budget);
      });
      try {
        return await Promise.race([next(args), expired]);
      } finally {
        clearTimeout(timer);
      }
    };
  client.middlewareStack.add(deadline, { step: 'initialize', name: 'setpollDeadline', priority: 'high', override: true });
  return client;
}
