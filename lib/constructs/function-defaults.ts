import type { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract.ts';
import { acknowledgeNag } from './nag.ts';
import { RETAINED } from './removal.ts';
import { requireInteger } from './validation.ts';

/** The runtime of every setpoll function. */
export const NODEJS_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * Modules swapped for smaller stand-ins in the Lambda bundles only, as esbuild aliases (paths are
 * relative to the project root, where bundling runs). Shared with the benchmark, which measures
 * the bundle exactly as deployed.
 */
export const LAMBDA_BUNDLE_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  // Lambda's credentials are always in the environment: lambdas/runtime/credentials-from-env.ts.
  '@aws-sdk/credential-provider-node': './lambdas/runtime/credentials-from-env.ts',
  // The SDK's endpoint cache needs only a small LRU map: lambdas/runtime/lru-cache.ts.
  'mnemonist/lru-cache': './lambdas/runtime/lru-cache.ts',
});

/**
 * How every setpoll handler is bundled: locally by esbuild (no Docker), minified ESM with a
 * source map, the AWS SDK included. Shared so the poll and management functions cannot drift.
 */
export function nodejsBundling(): BundlingOptions {
  return {
    minify: true,
    sourceMap: true,
    target: 'node24',
    format: OutputFormat.ESM,
    // Prefer the ES module builds of dependencies (better tree shaking in ESM output).
    mainFields: ['module', 'main'],
    // Local esbuild only: there is no Docker on the build machines.
    forceDockerBundling: false,
    // Bundle the AWS SDK too: the version is pinned by package-lock.json and tested,
    // instead of whatever copy the runtime happens to ship.
    externalModules: [],
    // CommonJS dependencies bundled into ESM still call require(); give them one.
    banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
    esbuildArgs: Object.fromEntries(Object.entries(LAMBDA_BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to])),
  };
}

/** Environment every setpoll function gets besides its own settings. */
export const COMMON_FUNCTION_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({
  [ENV.logLevel]: 'INFO',
  // Stack traces point into the TypeScript sources (bundled with sourceMap).
  [ENV.nodeOptions]: '--enable-source-maps',
});

/**
 * X-Ray active tracing, when asked for. Lambda then gives the role xray:PutTraceSegments and
 * xray:PutTelemetryRecords on `*`: those actions have no resource-level permissions, so the
 * wildcard is acknowledged on this role, and only when tracing is on.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
 */
export function tracingOf(role: iam.IRole, on: boolean | undefined): lambda.Tracing | undefined {
  if (!on) return undefined;
  acknowledgeNag(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource is *.',
  );
  return lambda.Tracing.ACTIVE;
}

export interface FunctionLogging {
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
}

/**
 * A function's own log group and an execution role that can write to that group only.
 *
 * An explicit log group: retention is set by CloudFormation (no log-retention custom resource)
 * and the role's log permissions can name this one group. Our own role instead of the default
 * one with AWSLambdaBasicExecutionRole: that managed policy allows writing to every log group in
 * the account.
 */
export function createFunctionLogging(scope: Construct, options: { description: string; retention?: logs.RetentionDays }): FunctionLogging {
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: options.retention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RETAINED,
  });
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: options.description,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  return { logGroup, role };
}

/** What every setpoll function construct (PollFunction, ManagementFunction) takes besides its own settings. */
export interface FunctionSettings {
  /**
   * Lambda memory in MB: CPU scales with it, and verifying or signing JWS is CPU bound.
   * @default - the construct's: DEFAULT_POLL_MEMORY_SIZE (512), DEFAULT_MANAGEMENT_MEMORY_SIZE (1024)
   */
  readonly memorySize?: number;
  /**
   * Reserved concurrency: the most the function may run at once, and what no other function can take from it.
   * @default - the construct's: DEFAULT_POLL_RESERVED_CONCURRENCY (100), DEFAULT_MANAGEMENT_RESERVED_CONCURRENCY (10)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * X-Ray active tracing.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Handler source file (its export `handler`).
   * @default - the construct's handler in lambdas/handlers/ (POLL_HANDLER_ENTRY, MANAGEMENT_HANDLER_ENTRY)
   */
  readonly entry?: string;
}

/** FunctionSettings with a construct's defaults applied. */
export type ResolvedFunctionSettings = FunctionSettings & Required<Pick<FunctionSettings, 'entry' | 'memorySize' | 'reservedConcurrentExecutions'>>;

/**
 * `settings` with the construct's `defaults` where they say nothing, memory and concurrency checked
 * (ConfigError). A `settingPrefix` names them as the deployment settings do: `management` makes
 * `managementMemorySize`. Called before the function exists: bundling runs in its constructor and is slow.
 */
export function resolveFunctionSettings(
  settings: FunctionSettings,
  defaults: Required<Pick<FunctionSettings, 'entry' | 'memorySize' | 'reservedConcurrentExecutions'>>,
  settingPrefix = '',
): ResolvedFunctionSettings {
  const named = (name: string): string => (settingPrefix ? `${settingPrefix}${name[0]!.toUpperCase()}${name.slice(1)}` : name);
  const resolved = {
    entry: settings.entry ?? defaults.entry,
    memorySize: settings.memorySize ?? defaults.memorySize,
    reservedConcurrentExecutions: settings.reservedConcurrentExecutions ?? defaults.reservedConcurrentExecutions,
    tracing: settings.tracing,
    logRetention: settings.logRetention,
  };
  requireInteger(named('memorySize'), resolved.memorySize, 128);
  requireInteger(named('reservedConcurrentExecutions'), resolved.reservedConcurrentExecutions, 1);
  return resolved;
}

export interface SetpollFunctionOptions extends Pick<FunctionSettings, 'tracing' | 'logRetention'> {
  /** Says what the function is, on its role. */
  readonly description: string;
  /** Handler source file (its export `handler`). */
  readonly entry: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** The table every setpoll function works on: its name is in every function's environment. */
  readonly table: dynamodb.ITable;
  /** The function's own settings, after the table name; COMMON_FUNCTION_ENVIRONMENT follows them. */
  readonly environment: Readonly<Record<string, string>>;
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** @default - Lambda's default (Terminate) */
  readonly recursiveLoop?: lambda.RecursiveLoop;
}

export interface SetpollFunction extends FunctionLogging {
  readonly function: NodejsFunction;
}

/**
 * A setpoll handler's Lambda (`Function`), with its own log group and role (createFunctionLogging):
 * bundled locally by esbuild (nodejsBundling), ESM, arm64, NODEJS_RUNTIME.
 */
export function createSetpollFunction(scope: Construct, options: SetpollFunctionOptions): SetpollFunction {
  const { logGroup, role } = createFunctionLogging(scope, { description: options.description, retention: options.logRetention });
  const fn = new NodejsFunction(scope, 'Function', {
    entry: options.entry,
    handler: 'handler',
    runtime: NODEJS_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize,
    timeout: options.timeout,
    role,
    logGroup,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    tracing: tracingOf(role, options.tracing),
    environment: { [ENV.tableName]: options.table.tableName, ...options.environment, ...COMMON_FUNCTION_ENVIRONMENT },
    bundling: nodejsBundling(),
    recursiveLoop: options.recursiveLoop,
  });
  return { function: fn, logGroup, role };
}
