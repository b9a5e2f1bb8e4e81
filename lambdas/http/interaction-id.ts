import { randomUUID } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export const INTERACTION_ID_HEADER = 'x-fapi-interaction-id';

/** Printable ASCII only, so an echoed value can never split or smuggle a header. */
const SAFE_ID = /^[\x21-\x7e]{1,128}$/;

/** The request's own id when it is safe to echo, else a new UUID (FAPI §6.2.1). */
export function interactionIdOf(event: APIGatewayProxyEventV2): string {
  const given = event.headers?.[INTERACTION_ID_HEADER];
  return given !== undefined && SAFE_ID.test(given) ? given : randomUUID();
}

export interface InteractionState {
  interactionId?: string;
}

type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context & InteractionState>;

/** Stamps `x-fapi-interaction-id` on every response, errors included. */
export function interactionId(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context & InteractionState> {
  const stamp = (request: Request): void => {
    if (!request.response) return;
    request.response.headers = { ...request.response.headers, [INTERACTION_ID_HEADER]: request.context.interactionId ?? randomUUID() };
  };
  return {
    before: (request) => {
      request.context.interactionId = interactionIdOf(request.event);
    },
    after: stamp,
    onError: stamp,
  };
}
