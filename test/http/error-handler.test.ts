import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { httpErrorHandler } from '../../lambdas/http/error-handler.ts';
import { OutputCapture } from '../support/output-capture.ts';

describe('httpErrorHandler', () => {
  describe('onError (an unexpected error)', () => {
    it('answers a generic 500 and logs the stack frames without the message, which may echo input', async () => {
      // Prepare: a logger created while stdout and stderr are captured (it binds them then).
      const captured = new OutputCapture();
      captured.start();
      let response: unknown;
      try {
        const logger = new Logger({ serviceName: 'test', logLevel: 'INFO' });
        const handler = middy(async () => {
          throw new Error('secret-from-input eyJhbGciOi');
        }).use(httpErrorHandler({ logger }));
        // Act
        response = await handler({} as never, {} as never);
      } finally {
        captured.stop();
      }
      // Assess
      expect(response).toMatchObject({ statusCode: 500, body: '{"err":"server_error","description":"Internal server error"}' });
      const logged = captured.text();
      expect(logged).toContain('Unhandled error');
      expect(logged).toContain('error-handler.test.ts');
      expect(logged).not.toContain('secret-from-input');
    });
  });
});
