import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { withDeadline } from '../runtime/deadline.ts';

/**
 * How setpoll marshals items, decided once for the Lambda functions, the local stack, the CLI, the
 * tests and the benchmark: an `undefined` member (an optional attribute left out) is dropped rather
 * than refused, so every environment writes exactly what the tests wrote.
 */
export function translateConfig(): TranslateConfig {
  // A fresh object per client: lib-dynamodb writes its own members into the options it is given.
  return { marshallOptions: { removeUndefinedValues: true } };
}

/**
 * The one document-client factory. `config` is the DynamoDB client's (region, endpoint, credentials).
 * Its calls end in time for the handler to answer 503 (lambdas/runtime/deadline.ts).
 */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(withDeadline(new DynamoDBClient(config)), translateConfig());
}

/**
 * A client configuration for DynamoDB Local: any credentials and region work with -sharedDb.
 * Here, not beside the launcher (local/dynamodb.ts), so the CLI can reach a running local stack
 * without loading the launcher.
 */
export function dynamoDbLocalConfig(endpoint: string): DynamoDBClientConfig {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 };
}
