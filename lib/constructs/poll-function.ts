import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
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
import { accessTokenEnvironment, type AccessTokenSettings } from './access-token-settings.ts';
import { createSetpollFunction, resolveFunctionSettings, type FunctionSettings } from './function-defaults.ts';
import type { SetQueueTable } from './set-queue-table.ts';
import { ConfigError, requireInteger } from './validation.ts';

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

/** Memory of the poll function in MB: verifying access tokens' JWS signatures is CPU bound, and CPU scales with memory. */
export const DEFAULT_POLL_MEMORY_SIZE = 512;

export interface PollFunctionProps extends AccessTokenSettings, FunctionSettings {
  /** The SET queue; the function gets exactly its queue grants. */
  readonly queue: SetQueueTable;
  /** `realm` of the WWW-Authenticate challenges: the public host name. */
  readonly realm: string;
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
    const functionSettings = resolveFunctionSettings(props, {
      entry: POLL_HANDLER_ENTRY,
      memorySize: DEFAULT_POLL_MEMORY_SIZE,
      reservedConcurrentExecutions: DEFAULT_POLL_RESERVED_CONCURRENCY,
    });
    if (tokenScopes.length === 0 || tokenScopes.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
      throw new ConfigError(`tokenScopes must be one or more RFC 6749 scope tokens (got ${JSON.stringify(tokenScopes)})`);
    }
    const tokenEnvironment = accessTokenEnvironment(props);

    this.longPollSeconds = longPollSeconds;
    this.timeout = Duration.seconds(longPollSeconds + TIMEOUT_HEADROOM_SECONDS);

    ({ function: this.function, logGroup: this.logGroup, role: this.role } = createSetpollFunction(this, {
      ...functionSettings,
      description: 'setpoll poll handler',
      timeout: this.timeout,
      // With the table name and COMMON_FUNCTION_ENVIRONMENT, exactly what lambdas/handlers/poll.ts reads (POLL_FUNCTION_ENV; test/contract/environment.test.ts).
      table: props.queue.table,
      environment: {
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
        ...tokenEnvironment,
        [ENV.tokenScopes]: tokenScopes.join(' '),
        [ENV.tokenClientClaim]: DEFAULT_TOKEN_CLIENT_CLAIM,
        [ENV.serviceName]: POLL_SERVICE,
      },
    }));

    props.queue.grantQueueAccess(this.function);
  }
}
