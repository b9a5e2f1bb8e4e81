import type middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ServiceUnavailable, SetpollError, type ErrorBody } from '../core/errors.ts';
import { NETWORK_ERROR_CODES, TRANSIENT_ERROR_NAMES } from '../shared/helpers.ts';

export const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store' });

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** A dependency (DynamoDB, the JWKS host) failed in a way a retry can fix: throttled, 5xx, timed out. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
  return (
    TRANSIENT_ERROR_NAMES.has(e.name) ||
    e.$retryable !== undefined ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500 ||
    (e.code !== undefined && NETWORK_ERROR_CODES.has(e.code))
  );
}

/**
 * Turns any error into the documented error body. Exposed SetpollErrors keep their status and
 * message; transient dependency failures become 503 with Retry-After; anything else is a generic
 * 500 whose detail stays in the log, never in the response.
 */
export function httpErrorHandler(options: { logger: Logger }): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const { logger } = options;
  return {
    onError: (request) => {
      let error = request.error;
      if (!(error instanceof SetpollError) && isTransient(error)) {
        logger.warn('Transient dependency failure', { errorName: error?.name });
        error = new ServiceUnavailable('The service is temporarily unavailable; retry shortly', 1);
      }
      if (error instanceof SetpollError && error.expose) {
        if (error.statusCode >= 500) logger.warn('Request failed', { code: error.code });
        else logger.info('Request rejected', { code: error.code, status: error.statusCode });
        const body: ErrorBody = { err: error.code, description: error.message };
        request.response = jsonResponse(error.statusCode, body, error.headers);
        return;
      }
      // Log the name and the stack frames only: messages of unknown errors may echo input, and V8
      // puts the message in the stack's first line.
      logger.error('Unhandled error', { errorName: error?.name, stack: error?.stack?.split('\n').slice(1).join('\n') });
      const body: ErrorBody = { err: 'server_error', description: 'Internal server error' };
      request.response = jsonResponse(500, body);
    },
  };
}
