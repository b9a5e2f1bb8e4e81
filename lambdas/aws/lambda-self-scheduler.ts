import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ServiceUnavailable } from '../core/errors.ts';
import type { FanOutContinuationEvent } from '../handlers/management/continuation.ts';
import type { FanOutScheduler } from '../notifier/notification-types.ts';
import { currentInteractionId } from '../observability/request-context.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';

/**
 * The FanOutScheduler in AWS: an asynchronous invocation (InvocationType Event) of this same
 * function with a FanOutContinuationEvent. Lambda queues the event and retries it on failure.
 */
export class LambdaSelfScheduler implements FanOutScheduler {
  readonly #lambda: Pick<LambdaClient, 'send'>;
  readonly #functionName: string;

  constructor(options: { lambda: Pick<LambdaClient, 'send'>; functionName: string }) {
    if (!options.functionName) throw new ProgrammerError('functionName is required');
    this.#lambda = options.lambda;
    this.#functionName = options.functionName;
  }

  async schedule(providerId: string, notificationId: string): Promise<void> {
    const interactionId = currentInteractionId();
    const event: FanOutContinuationEvent = { setpollFanOut: { providerId, notificationId, ...(interactionId ? { interactionId } : {}) } };
    try {
      await this.#lambda.send(
        new InvokeCommand({ FunctionName: this.#functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
      );
    } catch (error) {
      // The notification is saved with its cursor: repeating the request resumes the fan-out.
      throw new ServiceUnavailable('The rest of the fan-out could not be scheduled; retry the request (an issue with the same notificationId resumes it)', 1, {
        cause: error,
      });
    }
  }
}
