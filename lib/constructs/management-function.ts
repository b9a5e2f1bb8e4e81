import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, MANAGEMENT_SERVICE, MANAGEMENT_TIMEOUT_SECONDS, NOTIFIER_LIMIT_ENV, type NotifierLimits } from '../../lambdas/contract.ts';
import { resolveLimits } from '../../lambdas/notifier/limits.ts';
import { accessTokenEnvironment, type AccessTokenSettings } from './access-token-settings.ts';
import { createSetpollFunction, resolveFunctionSettings, type FunctionSettings } from './function-defaults.ts';
import type { SetQueueTable } from './set-queue-table.ts';
import type { SigningKey } from './signing-key.ts';
import { requireNonEmpty } from './validation.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The management handler source, relative to the repository root. */
export const MANAGEMENT_HANDLER_ENTRY = path.join(HERE, '../../lambdas/handlers/management.ts');

/** One second under API Gateway's 30 s integration limit (lambdas/contract.ts). */
export { MANAGEMENT_TIMEOUT_SECONDS } from '../../lambdas/contract.ts';

/**
 * Reserved concurrency of the management function: API requests are short, and each notification in
 * flight runs at most one fan-out continuation at a time. It keeps a burst of providers' requests
 * from taking the poll function's share of the account (docs/deploy.md, "Concurrency").
 */
export const DEFAULT_MANAGEMENT_RESERVED_CONCURRENCY = 10;

/**
 * Memory of the management function in MB: signing is CPU bound (one KMS call per SET, plus JSON
 * work per destination page), and CPU scales with memory.
 */
export const DEFAULT_MANAGEMENT_MEMORY_SIZE = 1024;

export interface ManagementFunctionProps extends AccessTokenSettings, FunctionSettings {
  /** The table holding destinations, notifications, receipts and the recipients' queues. */
  readonly queue: SetQueueTable;
  /** The KMS key that signs the SETs; the function may Sign and GetPublicKey with it, nothing else. */
  readonly signingKey: SigningKey;
  /** `realm` of the WWW-Authenticate challenges: the public host name. */
  readonly realm: string;
  /** `iss` of the SETs, e.g. `https://events.bank.example`. */
  readonly issuer: string;
  /**
   * The poll endpoint's URL: SSF streams deliver through it (their `delivery.endpoint_url`).
   * @default - no SSF routes
   */
  readonly pollUrl?: string;
  /**
   * Per-Data-Provider limits (docs/server-policies.md); an undefined one keeps its default.
   * @default the contract's NOTIFIER_LIMIT_DEFAULTS
   */
  readonly notifierLimits?: { readonly [K in keyof NotifierLimits]?: number | undefined };
}

/**
 * The notifier's management API Lambda: destinations, notifications (signed with the KMS key and
 * fanned out to the recipients' queues), receipt status, and the SET verification keys
 * (/jwks.json). Bundled like the poll function; 29 s timeout, 1024 MB.
 *
 * Long fan-outs continue in asynchronous invocations of this same function
 * (`{"setpollFanOut": ...}`, InvocationType Event, named by AWS_LAMBDA_FUNCTION_NAME), so its
 * role may invoke this function and no other.
 */
export class ManagementFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** `lambda:InvokeFunction` on this function only, for fan-out continuations. */
  public readonly selfInvokePolicy: iam.Policy;
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: ManagementFunctionProps) {
    super(scope, id);

    // Validate before the NodejsFunction exists: bundling runs in its constructor and is slow.
    const functionSettings = resolveFunctionSettings(
      props,
      { entry: MANAGEMENT_HANDLER_ENTRY, memorySize: DEFAULT_MANAGEMENT_MEMORY_SIZE, reservedConcurrentExecutions: DEFAULT_MANAGEMENT_RESERVED_CONCURRENCY },
      'management',
    );
    const tokenEnvironment = accessTokenEnvironment(props);
    requireNonEmpty('issuer', props.issuer);
    // The function refuses to start with limits out of bounds: refuse them at synth instead.
    const limits = resolveLimits(Object.fromEntries(Object.entries(props.notifierLimits ?? {}).filter(([, v]) => v !== undefined)));

    this.timeout = Duration.seconds(MANAGEMENT_TIMEOUT_SECONDS);
    ({ function: this.function, logGroup: this.logGroup, role: this.role } = createSetpollFunction(this, {
      ...functionSettings,
      description: 'setpoll management handler',
      timeout: this.timeout,
      // With the table name and COMMON_FUNCTION_ENVIRONMENT, exactly what lambdas/handlers/management.ts reads (MANAGEMENT_FUNCTION_ENV; test/contract/environment.test.ts).
      table: props.queue.table,
      environment: {
        [ENV.realm]: props.realm,
        [ENV.issuer]: props.issuer,
        ...(props.pollUrl ? { [ENV.pollUrl]: props.pollUrl } : {}),
        [ENV.signingKeyId]: props.signingKey.key.keyArn,
        [ENV.signingAlg]: props.signingKey.algorithm,
        ...tokenEnvironment,
        [ENV.serviceName]: MANAGEMENT_SERVICE,
        ...Object.fromEntries(Object.entries(NOTIFIER_LIMIT_ENV).map(([name, variable]) => [variable, String(limits[name as keyof NotifierLimits])])),
      },
      // The self-invocation that continues a long fan-out is a deliberate, bounded recursion: every
      // continuation saves progress before it schedules the next, and the chain ends when the
      // destinations are done. Lambda's recursive loop detection (Terminate, the default) would stop
      // such a chain after about 16 invocations and drop the event, leaving the notification
      // `fanning_out` for good. FanOutContinuations records and alarms on what still fails.
      // https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
    }));

    props.queue.grantNotifierAccess(this.function);
    props.signingKey.grantSign(this.function);

    // Self-invocation, on this function's ARN only. Not `this.function.grantInvoke(this.function)`:
    // that statement would land in the role's default policy, which the function DependsOn, while
    // the statement's resource is the function's own ARN: a circular dependency. A separate policy
    // attached to the same role breaks the cycle (policy -> function -> role) without a physical
    // function name. The function is invoked only by itself, after a request, so the policy being
    // attached moments after the function exists during a deployment does not matter.
    this.selfInvokePolicy = new iam.Policy(this, 'SelfInvokePolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [this.function.functionArn],
        }),
      ],
    });
    this.selfInvokePolicy.attachToRole(this.role);
  }
}
