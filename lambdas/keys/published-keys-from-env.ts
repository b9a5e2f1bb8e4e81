import type { JWK } from 'jose';
import { ENV } from '../contract.ts';
import { ProgrammerError } from '../core/errors.ts';
import { createDocumentClient } from '../store/document-client.ts';
import { DynamoKeySetStore } from '../store/dynamo-key-set-store.ts';
import { PublishedKeys } from './published-keys.ts';

/** A Lambda function's JWKS: the current key(s) given, and the table's published keys (ENV.tableName). */
export function publishedKeysFromEnv(env: NodeJS.ProcessEnv, current: () => Promise<readonly JWK[]>): PublishedKeys {
  const tableName = env[ENV.tableName];
  if (!tableName) throw new ProgrammerError(`${ENV.tableName} is required`);
  const endpoint = env[ENV.dynamoDbEndpoint];
  return new PublishedKeys({ store: new DynamoKeySetStore({ client: createDocumentClient(endpoint ? { endpoint } : {}), tableName }), current });
}
