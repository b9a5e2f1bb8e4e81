import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The interaction id of the request being handled, for code far from the handler that must carry
 * it on (the fan-out scheduler puts it in the continuation event, so the continuation's log lines
 * can be joined to the request that started it). Async-context scoped: concurrent requests in one
 * process (the local stack) each see their own.
 */
const current = new AsyncLocalStorage<{ readonly interactionId: string | undefined }>();

export function runWithInteraction<T>(interactionId: string | undefined, fn: () => T): T {
  return current.run({ interactionId }, fn);
}

export function currentInteractionId(): string | undefined {
  return current.getStore()?.interactionId;
}
