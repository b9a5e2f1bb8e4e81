import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { QUEUE_PK_PREFIX } from '../../lambdas/store/schema.ts';
import type { SetQueueTable } from './set-queue-table.ts';
import type { SigningKey } from './signing-key.ts';
import { ConfigError } from './validation.ts';

/** A producer queues SETs with one conditional PutItem per recipient (lambdas/store/schema.ts). */
export const PRODUCER_TABLE_ACTIONS: readonly string[] = Object.freeze(['dynamodb:PutItem']);

/** Queue partitions only: `Q#<clientId>` (schema.ts QUEUE_PK_PREFIX). */
export const PRODUCER_LEADING_KEYS: readonly string[] = Object.freeze([`${QUEUE_PK_PREFIX}*`]);

/**
 * The attributes of a queued-SET item, the only ones a producer may write. A lease record needs
 * `v` and `l`, a delivery record `state`, `at` and `att`: a producer can write none of them.
 * `att` is left out too: only the poll service counts deliveries.
 */
export const PRODUCER_ITEM_ATTRIBUTES: readonly string[] = Object.freeze(['pk', 'sk', 'jti', 'set', 'ttl']);

/** A producer signing with the stack's key needs Sign, and GetPublicKey for the kid. */
export const PRODUCER_SIGNING_ACTIONS: readonly string[] = Object.freeze(['kms:Sign', 'kms:GetPublicKey']);

/** DynamoDB's use of a customer managed table key on a producer's behalf (a put encrypts). */
export const PRODUCER_TABLE_KEY_ACTIONS: readonly string[] = Object.freeze(['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt', 'kms:DescribeKey']);

/**
 * The fine-grained access conditions of a producer's PutItem, per "Using IAM policy conditions
 * for fine-grained access control" (DynamoDB Developer Guide, specifying-conditions):
 * - `dynamodb:LeadingKeys`: the partition key written must be a queue partition, so certificate,
 *   recipient, provider, notification and published-key partitions are out of reach;
 * - `dynamodb:Attributes`: only the queued-SET attributes (key attributes included, as the guide
 *   requires), so no lease or delivery record can be written;
 * - `dynamodb:ReturnValues` NONE: a put cannot read back the item it replaced.
 * `ForAllValues` is true for an absent key, so the `Null` test makes both keys mandatory.
 */
export function producerPutConditions(): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...PRODUCER_LEADING_KEYS] },
    'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...PRODUCER_ITEM_ATTRIBUTES] },
    StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    Null: { 'dynamodb:LeadingKeys': 'false', 'dynamodb:Attributes': 'false' },
  };
}

export interface ProducerAccessProps {
  readonly queue: SetQueueTable;
  /** The stack's signing key; producers get kms:Sign on it when `signWithStackKey`. */
  readonly signingKey: SigningKey;
  /**
   * Producers sign with the stack's KMS key (rather than keys of their own published with
   * `setpoll keys register`).
   * @default true
   */
  readonly signWithStackKey?: boolean;
  /**
   * AWS account ids of producers in other accounts: a table resource policy lets them PutItem
   * under the same conditions (and, when they sign with the stack's key, a key policy statement
   * lets them Sign). Each account then grants its own principals, e.g. with the same statements.
   * @default - none
   */
  readonly producerAccountIds?: readonly string[];
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * What a producer may do and nothing more: queue SETs (PutItem into queue partitions, queued-SET
 * attributes only) and, optionally, sign them with the stack's key. Exposed as grantEnqueue(), as
 * a managed policy to attach to producer roles, and as resource policies for other accounts.
 */
export class ProducerAccess extends Construct {
  /** Attach to a producer's role: the same statements grantEnqueue adds. */
  public readonly managedPolicy: iam.ManagedPolicy;
  readonly #props: ProducerAccessProps;

  constructor(scope: Construct, id: string, props: ProducerAccessProps) {
    super(scope, id);
    for (const account of props.producerAccountIds ?? []) {
      if (!ACCOUNT_ID.test(account)) throw new ConfigError(`producerAccountIds must be 12-digit AWS account ids (got ${JSON.stringify(account)})`);
    }
    this.#props = props;
    this.managedPolicy = new iam.ManagedPolicy(this, 'Policy', {
      description: 'setpoll producer: queue SETs (PutItem on queue partitions only) and sign them with the stack key',
      statements: this.statements(),
    });

    const accounts = props.producerAccountIds ?? [];
    if (accounts.length > 0) {
      const principals = accounts.map((account) => new iam.AccountPrincipal(account));
      props.queue.table.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ProducerAccountsEnqueue',
          principals,
          actions: [...PRODUCER_TABLE_ACTIONS],
          // A table resource policy names its own table with "*" (the table's ARN would be a
          // circular reference in the template).
          resources: ['*'],
          conditions: producerPutConditions(),
        }),
      );
      if (props.signWithStackKey ?? true) {
        props.signingKey.key.addToResourcePolicy(
          new iam.PolicyStatement({ sid: 'ProducerAccountsSign', principals, actions: [...PRODUCER_SIGNING_ACTIONS], resources: ['*'] }),
        );
      }
    }
  }

  /** The identity-policy statements of a producer. */
  public statements(): iam.PolicyStatement[] {
    const { queue, signingKey } = this.#props;
    const statements = [
      new iam.PolicyStatement({
        sid: 'EnqueueSets',
        actions: [...PRODUCER_TABLE_ACTIONS],
        resources: [queue.table.tableArn],
        conditions: producerPutConditions(),
      }),
    ];
    if (this.#props.signWithStackKey ?? true) {
      statements.push(new iam.PolicyStatement({ sid: 'SignSets', actions: [...PRODUCER_SIGNING_ACTIONS], resources: [signingKey.key.keyArn] }));
    }
    if (queue.encryptionKey) {
      statements.push(new iam.PolicyStatement({ sid: 'TableKey', actions: [...PRODUCER_TABLE_KEY_ACTIONS], resources: [queue.encryptionKey.keyArn] }));
    }
    return statements;
  }

  /** Adds the producer statements to `grantee`'s identity policy. */
  public grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    const [first, ...rest] = this.statements().map((statement) =>
      iam.Grant.addToPrincipal({ grantee, actions: statement.actions, resourceArns: statement.resources, conditions: statement.conditions }),
    );
    return rest.reduce((all, grant) => all.combine(grant), first!);
  }
}
