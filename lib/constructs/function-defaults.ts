import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract.ts';
import { acknowledgeNag } from './nag.ts';
import { RETAINED } from './removal.ts';

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
