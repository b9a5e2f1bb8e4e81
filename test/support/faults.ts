import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface FaultPlan {
  /** Fraction of calls that fail before reaching DynamoDB (0–1). */
  readonly rate: number;
  /** Which faults to draw from. */
  readonly kinds?: readonly ('throttle' | 'server' | 'timeout')[];
  /** Only calls of these commands are faulted (e.g. 'PutCommand'); all when omitted. */
  readonly commands?: readonly string[];
  /**
   * Fraction of calls (0–1) whose every attempt fails: an outage that outlasts the SDK's retries,
   * so the caller sees the error. `rate` faults single attempts, which the retries mostly absorb.
   */
  readonly persistentRate?: number;
  /**
   * 'before' (default): the faulted attempt never reaches DynamoDB. 'after': DynamoDB carries it
   * out and its answer is lost (a timeout after a write took effect).
   */
  readonly when?: 'before' | 'after';
  /** At most this many faults are injected. */
  readonly limit?: number;
}

function fault(kind: 'throttle' | 'server' | 'timeout'): Error {
  const meta = { $metadata: { httpStatusCode: kind === 'throttle' ? 400 : 500, attempts: 1, totalRetryDelay: 0 } };
  if (kind === 'timeout') return Object.assign(new Error('socket hang up (injected)'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
  return new DynamoDBServiceException({
    name: kind === 'throttle' ? 'ThrottlingException' : 'InternalServerError',
    $fault: kind === 'throttle' ? 'client' : 'server',
    message: `${kind} (injected)`,
    ...meta,
  });
}

let serial = 0;

/**
 * Injects faults between a handler and DynamoDB: a middleware on the real client that throws
 * throttling, 5xx or timeout errors on a fraction of calls. The calls that pass reach DynamoDB Local.
 * Placed after the SDK's retry step, so the SDK's own retries see the faults too.
 */
export function injectFaults(client: DynamoDBDocumentClient, plan: FaultPlan): { injected: () => number; stop: () => void } {
  let injected = 0;
  let active = true;
  const kinds = plan.kinds ?? ['throttle', 'server', 'timeout'];
  // One context per command, shared by its retries: how a persistent fault follows a call.
  const doomed = new WeakSet<object>();
  const seen = new WeakSet<object>();
  const name = `setpollFaultInjection${++serial}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? '');
      const eligible = !plan.commands || plan.commands.some((c) => command === c || command === c.replace(/^(\w+)Command$/, '$1ItemCommand'));
      const first = !seen.has(context);
      seen.add(context);
      if (active && eligible && first && Math.random() < (plan.persistentRate ?? 0)) doomed.add(context);
      const faulted = active && eligible && (plan.limit === undefined || injected < plan.limit) && (doomed.has(context) || Math.random() < plan.rate);
      if (!faulted) return next(args);
      injected++;
      const error = fault(kinds[Math.floor(Math.random() * kinds.length)]!);
      if (plan.when === 'after') await next(args).catch(() => undefined);
      throw error;
    },
    { step: 'finalizeRequest', name, priority: 'low' },
  );
  return { injected: () => injected, stop: () => void (active = false) };
}

/**
 * A handler killed right after a DynamoDB call took effect: the first call `match` accepts reaches
 * DynamoDB and succeeds, and its caller never hears back (as if the process died there).
 * `killed` resolves with that call's input (DynamoDB JSON); `release` ends the hung call with an
 * error and removes the middleware.
 */
export function killAfter(
  client: DynamoDBDocumentClient,
  match: (command: string, input: Record<string, unknown>) => boolean,
): { killed: Promise<Record<string, unknown>>; release: () => void } {
  let done = false;
  let onKilled!: (input: Record<string, unknown>) => void;
  const killed = new Promise<Record<string, unknown>>((resolve) => (onKilled = resolve));
  const hung: ((error: Error) => void)[] = [];
  const name = `setpollKill${++serial}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = (args as { input?: Record<string, unknown> }).input ?? {};
      const out = await next(args);
      if (done || !match(String(context.commandName ?? ''), input)) return out;
      done = true;
      onKilled(input);
      return new Promise<never>((_, reject) => hung.push(reject));
    },
    { step: 'build', name, priority: 'low' },
  );
  return {
    killed,
    release: () => {
      client.middlewareStack.remove(name);
      for (const reject of hung.splice(0)) reject(new Error('The killed handler was released'));
    },
  };
}

/** Holds back calls of the given commands (e.g. 'QueryCommand') by `ms` before they reach DynamoDB: all of them, or the first `count`. */
export function slowCalls(
  client: DynamoDBDocumentClient,
  options: { commands: readonly string[]; ms: number; count?: number; /** Hold the answer instead of the request. */ after?: boolean },
): { stop: () => void } {
  const name = `setpollSlow${++serial}`;
  let slowed = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? '');
      const matches = options.commands.some((c) => command === c || command === c.replace(/^(\w+)Command$/, '$1ItemCommand'));
      if (matches && (options.count === undefined || slowed < options.count)) {
        slowed++;
        if (options.after) {
          const out = await next(args);
          await new Promise((resolve) => setTimeout(resolve, options.ms));
          return out;
        }
        await new Promise((resolve) => setTimeout(resolve, options.ms));
      }
      return next(args);
    },
    { step: 'finalizeRequest', name, priority: 'low' },
  );
  return { stop: () => void client.middlewareStack.remove(name) };
}
