import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { SetQueueTable } from './set-queue-table.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The poll handler source, relative to the repository root. */
export const POLL_HANDLER_ENTRY = path.join(HERE, '../../lambdas/handlers/poll.ts');

/** API Gateway HTTP API's hard integration timeout. */
export const HTTP_API_INTEGRATION_TIMEOUT_SECONDS = 30;
/** Headroom between the long poll and the Lambda timeout, for the final DynamoDB round trips. */
const TIMEOUT_HEADROOM_SECONDS = 5;
/** Longest long poll whose Lambda timeout (long poll + headroom) stays under 30 s. */
export const MAX_LONG_POLL_SECONDS = HTTP_API_INTEGRATION_TIMEOUT_SECONDS - TIMEOUT_HEADROOM_SECONDS - 1;

/** The OB Aggregated Polling profile scopes: a token needs one of them. */
export const DEFAULT_TOKEN_SCOPES: readonly string[] = Object.freeze(['accounts', 'fundsconfirmations', 'payments']);

const NODEJS_24 = lambda.Runtime.NODEJS_24_X;

export interface PollFunctionProps {
  /** The SET queue; the function gets exactly its queue grants. */
  readonly queue: SetQueueTable;
  /** `realm` of the WWW-Authenticate challenges: the public host name. */
  readonly realm: string;
  /** JWKS of the authorization server that issues the access tokens (https). */
  readonly tokenJwksUrl: string;
  /** Expected `iss` of access tokens. */
  readonly tokenIssuer: string;
  /** Expected `aud` of access tokens. */
  readonly tokenAudience: string;
  /**
   * Accepted scopes: a token must carry at least one.
   * @default ['accounts', 'fundsconfirmations', 'payments']
   */
  readonly tokenScopes?: readonly string[];
  /**
   * How long a delivered, unacknowledged SET is withheld from other polls.
   * @default 30
   */
  readonly leaseSeconds?: number;
  /**
   * How long a long poll waits for SETs. The Lambda timeout is this plus 5 s, which must stay
   * under API Gateway's 30 s, so at most 24.
   * @default 20
   */
  readonly longPollSeconds?: number;
  /**
   * Server cap on SETs per response.
   * @default 100
   */
  readonly maxEvents?: number;
  /**
   * Deliveries before a SET is marked failed; 0 means unlimited.
   * @default 0
   */
  readonly maxDeliveryAttempts?: number;
  /**
   * Lambda memory in MB (CPU scales with it; JWS verification is CPU bound).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Caps concurrent long polls so a flood cannot starve the account's other functions.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Handler source file.
   * @default lambdas/handlers/poll.ts
   */
  readonly entry?: string;
}

/** The RFC 8936 poll endpoint's Lambda: bundled locally with esbuild, ESM, arm64, nodejs24.x. */
export class PollFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** The Lambda timeout derived from the long poll. */
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: PollFunctionProps) {
    super(scope, id);

    const leaseSeconds = props.leaseSeconds ?? 30;
    const longPollSeconds = props.longPollSeconds ?? 20;
    const maxEvents = props.maxEvents ?? 100;
    const maxDeliveryAttempts = props.maxDeliveryAttempts ?? 0;
    const memorySize = props.memorySize ?? 512;
    const tokenScopes = props.tokenScopes ?? DEFAULT_TOKEN_SCOPES;

    // Validate before the NodejsFunction exists: bundling runs in its constructor and is slow.
    requireInteger('longPollSeconds', longPollSeconds, 0);
    if (longPollSeconds > MAX_LONG_POLL_SECONDS) {
      throw new Error(
        `longPollSeconds must be at most ${MAX_LONG_POLL_SECONDS}: the Lambda timeout is longPollSeconds + ` +
          `${TIMEOUT_HEADROOM_SECONDS} s and must stay under API Gateway's ${HTTP_API_INTEGRATION_TIMEOUT_SECONDS} s ` +
          `integration timeout (got ${longPollSeconds})`,
      );
    }
    requireInteger('leaseSeconds', leaseSeconds, 1);
    requireInteger('maxEvents', maxEvents, 1);
    requireInteger('maxDeliveryAttempts', maxDeliveryAttempts, 0);
    requireInteger('memorySize', memorySize, 128);
    if (tokenScopes.length === 0 || tokenScopes.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
      throw new Error(`tokenScopes must be one or more RFC 6749 scope tokens (got ${JSON.stringify(tokenScopes)})`);
    }
    requireHttpsUrl('tokenJwksUrl', props.tokenJwksUrl);
    requireNonEmpty('tokenIssuer', props.tokenIssuer);
    requireNonEmpty('tokenAudience', props.tokenAudience);

    this.timeout = Duration.seconds(longPollSeconds + TIMEOUT_HEADROOM_SECONDS);

    // An explicit log group: retention is set by CloudFormation (no log-retention custom
    // resource) and the role's log permissions can name this one group.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // Our own role instead of the default one with AWSLambdaBasicExecutionRole: that managed
    // policy allows writing to every log group in the account; this role can write to one.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'setpoll poll handler',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry ?? POLL_HANDLER_ENTRY,
      handler: 'handler',
      runtime: NODEJS_24,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: this.timeout,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        SETPOLL_TABLE_NAME: props.queue.table.tableName,
        SETPOLL_LEASE_SECONDS: String(leaseSeconds),
        SETPOLL_LONG_POLL_SECONDS: String(longPollSeconds),
        SETPOLL_MAX_EVENTS: String(maxEvents),
        SETPOLL_MAX_DELIVERY_ATTEMPTS: String(maxDeliveryAttempts),
        SETPOLL_REALM: props.realm,
        SETPOLL_TOKEN_JWKS_URL: props.tokenJwksUrl,
        SETPOLL_TOKEN_ISSUER: props.tokenIssuer,
        SETPOLL_TOKEN_AUDIENCE: props.tokenAudience,
        SETPOLL_TOKEN_SCOPES: tokenScopes.join(' '),
        POWERTOOLS_SERVICE_NAME: 'setpoll',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Stack traces point into the TypeScript sources (bundled with sourceMap).
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
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
      },
    });

    props.queue.grantQueueAccess(this.function);
  }
}

function requireInteger(name: string, value: number, min: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min} (got ${value})`);
  }
}

function requireNonEmpty(name: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (value.trim() === '') throw new Error(`${name} must not be empty`);
}

function requireHttpsUrl(name: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute https URL (got ${JSON.stringify(value)})`);
  }
  // Keys fetched over plain HTTP could be swapped in transit: that is token forgery.
  if (url.protocol !== 'https:') throw new Error(`${name} must use https (got ${JSON.stringify(value)})`);
}
