/**
 * DynamoDB for the commands that act on the table: the local stack's DynamoDB Local or a deployed
 * table (the default AWS credential chain), as target.ts resolves it. The one place that builds
 * DynamoDB clients for the CLI.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NETWORK_ERROR_CODES } from '../lambdas/shared/helpers.ts';
import { createDocumentClient, dynamoDbLocalConfig } from '../lambdas/store/document-client.ts';
import { CliFailure, UsageError } from './errors.ts';
import { resolveTableTarget, type AwsClientOptions, type LocalStack, type TableArgs } from './target.ts';

export interface Target {
  readonly kind: 'local' | 'aws';
  readonly tableName: string;
  readonly documentClient: DynamoDBDocumentClient;
  /** For messages: "table X in DynamoDB Local at ..." */
  readonly description: string;
  /** Present for the local stack. */
  readonly local?: LocalStack;
  /** Present for a deployed table: how its other AWS clients (KMS) are configured. */
  readonly aws?: AwsClientOptions;
  close(): void;
}

export async function openTarget(args: TableArgs, command: string): Promise<Target> {
  const target = await resolveTableTarget(args, command);
  if (target.kind === 'aws') {
    const { kind: _kind, tableName, ...aws } = target;
    // `profile` is the client's own AWS_PROFILE: the SDK's default credential chain and region
    // resolution read that profile of the shared config files (DynamoDBClientConfig.profile).
    const documentClient = createDocumentClient(aws);
    return {
      kind: 'aws',
      tableName,
      documentClient,
      aws,
      description: `table ${tableName}${aws.region ? ` in ${aws.region}` : ''}${aws.profile ? ` (profile ${aws.profile})` : ''}`,
      close: () => documentClient.destroy(),
    };
  }
  const documentClient = createDocumentClient(dynamoDbLocalConfig(target.endpoint));
  return {
    kind: 'local',
    tableName: target.tableName,
    documentClient,
    description: `table ${target.tableName} in DynamoDB Local at ${target.endpoint}`,
    local: target.local,
    close: () => documentClient.destroy(),
  };
}

/** Opens the target, runs `work`, turns DynamoDB and network errors into readable failures, closes. */
export async function withTarget<T>(args: TableArgs, command: string, work: (target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(args, command);
  try {
    return await work(target);
  } catch (error) {
    throw explainFailure(error, target);
  } finally {
    target.close();
  }
}

const NETWORK_CODES = NETWORK_ERROR_CODES;

function errorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string') return e.code;
  return errorCode(e.cause) ?? (Array.isArray(e.errors) ? e.errors.map(errorCode).find(Boolean) : undefined);
}

export function explainFailure(error: unknown, target: Target): Error {
  if (error instanceof UsageError || error instanceof CliFailure) return error;
  const e = error instanceof Error ? error : new Error(String(error));
  const code = errorCode(e);
  if (target.kind === 'local' && ((code && NETWORK_CODES.has(code)) || e.name === 'TimeoutError')) {
    return new CliFailure(`Cannot reach DynamoDB Local at ${target.local?.config.dynamodb.endpoint}: is the local stack running (npm start)?`, { cause: e });
  }
  if (e.name === 'ResourceNotFoundException') return new CliFailure(`The ${target.description} does not exist`, { cause: e });
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message) && target.kind === 'aws') {
    return new CliFailure(`No usable AWS credentials: configure the default credential chain (AWS_PROFILE, environment variables, SSO, ...): ${e.message}`, { cause: e });
  }
  if (/region is missing/i.test(e.message)) return new CliFailure('No AWS region: pass --region, or set SETPOLL_REGION or AWS_REGION', { cause: e });
  if (e.name === 'AccessDeniedException' || e.name === 'UnrecognizedClientException') {
    return new CliFailure(`AWS refused the request on ${target.description}: ${e.message}`, { cause: e });
  }
  if (code && NETWORK_CODES.has(code)) return new CliFailure(`Cannot reach DynamoDB for the ${target.description} (${code})`, { cause: e });
  return e;
}
