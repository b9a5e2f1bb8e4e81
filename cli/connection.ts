/**
 * Where a command acts: the local stack (DynamoDB Local, found through local.json) or a deployed
 * table (the default AWS credential chain). The one place that builds DynamoDB clients for the CLI.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { resolve } from 'node:path';
import { NETWORK_ERROR_CODES } from '../lambdas/shared/helpers.ts';
import { createDocumentClient, dynamoDbLocalConfig } from '../lambdas/store/document-client.ts';
import { CONFIG_FILE_NAME, DEFAULT_STATE_DIR, readLocalConfig, type LocalConfig } from '../local/config.ts';
import type { OptionsConfig } from './args.ts';
import { CliFailure, UsageError } from './errors.ts';

export const TARGET_OPTIONS = {
  config: { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
} as const satisfies OptionsConfig;

export interface TargetArgs {
  readonly config?: string | undefined;
  readonly table?: string | undefined;
  readonly region?: string | undefined;
}

export const TARGET_HELP = `Target (default: the local stack):
  --config FILE      local stack configuration (default: $SETPOLL_STATE_DIR/local.json, i.e. .setpoll/local.json)
  --table NAME       act on a deployed table instead, with the default AWS credential chain
  --region REGION    the deployed table's region (default: AWS_REGION / the profile's region)`;

export interface Target {
  readonly kind: 'local' | 'aws';
  readonly tableName: string;
  readonly documentClient: DynamoDBDocumentClient;
  /** For messages: "table X in DynamoDB Local at ..." */
  readonly description: string;
  /** Present for the local stack. */
  readonly local?: { readonly config: LocalConfig; readonly configFile: string };
  close(): void;
}

/** The state folder `npm start` uses; the CLI looks for local.json there by default. */
export const defaultStateDir = (env: NodeJS.ProcessEnv = process.env): string => resolve(env.SETPOLL_STATE_DIR || DEFAULT_STATE_DIR);

export async function openTarget(args: TargetArgs, command: string): Promise<Target> {
  if (args.table !== undefined) {
    if (args.config !== undefined) throw new UsageError('--config and --table cannot be used together', command);
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(args.table)) throw new UsageError(`--table ${JSON.stringify(args.table)} is not a DynamoDB table name`, command);
    const documentClient = createDocumentClient(args.region ? { region: args.region } : {});
    return {
      kind: 'aws',
      tableName: args.table,
      documentClient,
      description: `table ${args.table}${args.region ? ` in ${args.region}` : ''}`,
      close: () => documentClient.destroy(),
    };
  }
  if (args.region !== undefined) throw new UsageError('--region needs --table', command);
  const configFile = resolve(args.config ?? resolve(defaultStateDir(), CONFIG_FILE_NAME));
  let config: LocalConfig;
  try {
    config = await readLocalConfig(configFile);
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
  const documentClient = createDocumentClient(dynamoDbLocalConfig(config.dynamodb.endpoint));
  return {
    kind: 'local',
    tableName: config.dynamodb.tableName,
    documentClient,
    description: `table ${config.dynamodb.tableName} in DynamoDB Local at ${config.dynamodb.endpoint}`,
    local: { config, configFile },
    close: () => documentClient.destroy(),
  };
}

/** Opens the target, runs `work`, turns DynamoDB and network errors into readable failures, closes. */
export async function withTarget<T>(args: TargetArgs, command: string, work: (target: Target) => Promise<T>): Promise<T> {
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
  if (/region is missing/i.test(e.message)) return new CliFailure('No AWS region: pass --region or set AWS_REGION', { cause: e });
  if (e.name === 'AccessDeniedException' || e.name === 'UnrecognizedClientException') {
    return new CliFailure(`AWS refused the request on ${target.description}: ${e.message}`, { cause: e });
  }
  if (code && NETWORK_CODES.has(code)) return new CliFailure(`Cannot reach DynamoDB for the ${target.description} (${code})`, { cause: e });
  return e;
}
