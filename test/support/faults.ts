import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface FaultPlan {
  /** Fraction of calls that fail before reaching DynamoDB (0–1). */
  readonly rate: number;
  /** Which faults to draw from. */
  readonly kinds?: readonly ('throttle' | 'server' | 'timeout')[];
  /** Only calls of these commands are faulted (e.g. 'PutCommand'); all when omitted. */
  readonly commands?: readonly string[];
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

/**
 * Injects faults between a handler and DynamoDB: a middleware on the real client that throws
 * throttling, 5xx or timeout errors on a fraction of calls. The calls that pass reach DynamoDB Local.
 * Placed after the SDK's retry step, so the SDK's own retries see the faults too.
 */
export function injectFaults(client: DynamoDBDocumentClient, plan: FaultPlan): { injected: () => number; stop: () => void } {
  let injected = 0;
  let active = true;
  const kinds = plan.kinds ?? ['throttle', 'server', 'timeout'];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? '');
      const eligible = !plan.commands || plan.commands.some((c) => command === c || command === c.replace(/^(\w+)Command$/, '$1ItemCommand'));
      if (active && eligible && Math.random() < plan.rate) {
        injected++;
        throw fault(kinds[Math.floor(Math.random() * kinds.length)]!);
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'setpollFaultInjection', priority: 'low' },
  );
  return { injected: () => injected, stop: () => void (active = false) };
}
