import { inject } from 'vitest';

/**
 * The run's shared DynamoDB Local, started by global-setup.ts for the integration project only.
 * A test that needs it must be named `*.int.test.ts`; in the unit project this says so.
 */
export function dynamoEndpoint(): string {
  const endpoint = inject('dynamoEndpoint');
  if (!endpoint) throw new Error('this test needs DynamoDB Local: name its file *.int.test.ts (the integration project)');
  return endpoint;
}
