import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULT_ACCEPTED_POLL_SCOPES,
  DEFAULT_TOKEN_CLIENT_CLAIM,
  ENV,
  ERRORED_SETS_MODES,
  HTTP_API_INTEGRATION_TIMEOUT_SECONDS,
  MAX_LONG_POLL_SECONDS,
  POLL_SERVICE,
  SETTING_DEFAULTS,
  TIMEOUT_HEADROOM_SECONDS,
  type ErroredSetsMode,
} from '../../lambdas/contract.ts';
import { COMMON_FUNCTION_ENVIRONMENT, NODEJS_RUNTIME, createFunctionLogging, nodejsBundling, tracingOf } from './function-defaults.ts';
import type { SetQueueTable } from './set-queue-table.ts';
import { ConfigError, requireHttpsUrl, requireInteger, requireNonEmpty } from './validation.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The poll handler source, relative to the repository root. */
export const POLL_HANDLER_ENTRY = path.join(HERE, '../../lambdas/handlers/poll.ts');

/** Limits and defaults shared with the Lambda code (lambdas/contract.ts). */
export { HTTP_API_INTEGRATION_TIMEOUT_SECONDS, MAX_LONG_POLL_SECONDS } from '../../lambdas/contract.ts';
export const DEFAULT_TOKEN_SCOPES: readonly string[] = DEFAULT_ACCEPTED_POLL_SCOPES;

/**
 * Reserved concurrency of the poll function. An idle long poll holds one execution for the whole
 * wait, so this is how many recipients can long-poll at once (one each, as the recipient client
 * does); it also keeps them from taking the account's whole pool. A poll beyond it is throttled
 * (FunctionThrottles alarm). Size it to the recipients polling at once plus headroom
 * (docs/deploy.md, "Concurrency").
 */
export const DEFAULT_POLL_RESERVED_CONCURRENCY = 100;

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
   * Accept only access tokens typed `at+jwt` (RFC 9068).
   * @default false
   */
  readonly tokenRequireAtJwt?: boolean;
  /**
   * Refuse access tokens whose `exp - iat` is longer than this many seconds.
   * @default - no limit
   */
  readonly tokenMaxLifetimeSeconds?: number;
  /**
   * Accepted scopes: a token must carry at least one.
   * @default ['accounts', 'fundsconfirmations', 'payments', 'ssf.manage', 'ssf.manage.poll']
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
   * What a SET a recipient reports in `setErrs` becomes: `final` (RFC 8936 §2.4.4: it leaves the
   * queue for an `errored` record) or `redeliver` (the OB Aggregated Polling profile's reading: it
   * stays queued and is delivered again until acknowledged or out of attempts, so it needs
   * `maxDeliveryAttempts` of at least 1). ERRORED_SETS_MODES in lambdas/contract.ts.
   * @default 'final'
   */
  readonly erroredSets?: ErroredSetsMode;
  /**
   * Lambda memory in MB (CPU scales with it; JWS verification is CPU bound).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Caps concurrent long polls so a flood cannot starve the account's other functions.
   * @default DEFAULT_POLL_RESERVED_CONCURRENCY (100)
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
  /** How long a long poll waits for SETs: an idle poll's invocation lasts this long. */
  public readonly longPollSeconds: number;

  constructor(scope: Construct, id: string, props: PollFunctionProps) {
    super(scope, id);

    const leaseSeconds = props.leaseSeconds ?? SETTING_DEFAULTS.leaseSeconds;
    const longPollSeconds = props.longPollSeconds ?? SETTING_DEFAULTS.longPollSeconds;
    const maxEvents = props.maxEvents ?? SETTING_DEFAULTS.maxEvents;
    const maxDeliveryAttempts = props.maxDeliveryAttempts ?? SETTING_DEFAULTS.maxDeliveryAttempts;
    const memorySize = props.memorySize ?? 512;
    const tokenScopes = props.tokenScopes ?? DEFAULT_TOKEN_SCOPES;

    // Validate before the NodejsFunction exists: bundling runs in its constructor and is slow.
    requireInteger('longPollSeconds', longPollSeconds, 0);
    if (longPollSeconds > MAX_LONG_POLL_SECONDS) {
      throw new ConfigError(
        `longPollSeconds must be at most ${MAX_LONG_POLL_SECONDS}: the Lambda timeout is longPollSeconds + ` +
          `${TIMEOUT_HEADROOM_SECONDS} s and must stay under API Gateway's ${HTTP_API_INTEGRATION_TIMEOUT_SECONDS} s ` +
          `integration timeout (got ${longPollSeconds})`,
      );
    }
    requireInteger('leaseSeconds', leaseSeconds, 1);
    requireInteger('maxEvents', maxEvents, 1);
    requireInteger('maxDeliveryAttempts', maxDeliveryAttempts, 0);
    const erroredSets = props.erroredSets ?? SETTING_DEFAULTS.erroredSets;
    if (!(ERRORED_SETS_MODES as readonly string[]).includes(erroredSets)) {
      throw new ConfigError(`erroredSets must be one of ${ERRORED_SETS_MODES.join(', ')} (got ${JSON.stringify(erroredSets)})`);
    }
    // As the function itself checks on start (lambdas/core/settings.ts): caught here, at synth.
    if (erroredSets === 'redeliver' && maxDeliveryAttempts < 1) {
      throw new ConfigError('erroredSets "redeliver" needs maxDeliveryAttempts of at least 1: errored SETs are delivered again until their attempts run out');
    }
    requireInteger('memorySize', memorySize, 128);
    const reservedConcurrency = props.reservedConcurrentExecutions ?? DEFAULT_POLL_RESERVED_CONCURRENCY;
    requireInteger('reservedConcurrentExecutions', reservedConcurrency, 1);
    if (tokenScopes.length === 0 || tokenScopes.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
      throw new ConfigError(`tokenScopes must be one or more RFC 6749 scope tokens (got ${JSON.stringify(tokenScopes)})`);
    }
    requireHttpsUrl('tokenJwksUrl', props.tokenJwksUrl);
    requireNonEmpty('tokenIssuer', props.tokenIssuer);
    requireNonEmpty('tokenAudience', props.tokenAudience);

    this.longPollSeconds = longPollSeconds;
    this.timeout = Duration.seconds(longPollSeconds + TIMEOUT_HEADROOM_SECONDS);

    ({ logGroup: this.logGroup, role: this.role } = createFunctionLogging(this, {
      description: 'setpoll poll handler',
      retention: props.logRetention,
    }));

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry ?? POLL_HANDLER_ENTRY,
      handler: 'handler',
      runtime: NODEJS_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: this.timeout,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: reservedConcurrency,
      tracing: tracingOf(this.role, props.tracing),
      // Exactly what lambdas/handlers/poll.ts reads (POLL_FUNCTION_ENV; test/contract/environment.test.ts).
      environment: {
        [ENV.tableName]: props.queue.table.tableName,
        [ENV.leaseSeconds]: String(leaseSeconds),
        [ENV.longPollSeconds]: String(longPollSeconds),
        [ENV.maxEvents]: String(maxEvents),
        [ENV.maxDeliveryAttempts]: String(maxDeliveryAttempts),
        [ENV.maxResponseBytes]: String(SETTING_DEFAULTS.maxResponseBytes),
        [ENV.maxRequestBytes]: String(SETTING_DEFAULTS.maxRequestBytes),
        [ENV.maxInFlight]: String(SETTING_DEFAULTS.maxInFlight),
        [ENV.identityCacheSeconds]: String(SETTING_DEFAULTS.identityCacheSeconds),
        [ENV.erroredSets]: erroredSets,
        [ENV.realm]: props.realm,
        [ENV.tokenJwksUrl]: props.tokenJwksUrl,
        [ENV.tokenIssuer]: props.tokenIssuer,
        [ENV.tokenAudience]: props.tokenAudience,
        [ENV.tokenRequireAtJwt]: String(props.tokenRequireAtJwt ?? false),
        [ENV.tokenMaxLifetimeSeconds]: String(props.tokenMaxLifetimeSeconds ?? 0),
        [ENV.tokenScopes]: tokenScopes.join(' '),
        [ENV.tokenClientClaim]: DEFAULT_TOKEN_CLIENT_CLAIM,
        [ENV.serviceName]: POLL_SERVICE,
        ...COMMON_FUNCTION_ENVIRONMENT,
      },
      bundling: nodejsBundling(),
    });

    props.queue.grantQueueAccess(this.function);
  }
}
