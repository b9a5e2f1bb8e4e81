import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { RETAINED } from './removal.ts';
import { authorizationPk, certPk, inboxPk, providerPk, queuePk } from '../../lambdas/store/schema.ts';

/** How the SET queue table is encrypted at rest (an object and a type, not an enum: erasable syntax only). */
export const SetQueueEncryption = Object.freeze({
  /** The AWS managed key `aws/dynamodb`: no key to operate, CloudTrail-visible KMS use. */
  AWS_MANAGED: 'aws-managed',
  /** A customer managed KMS key: key policy control and crypto-shredding by disabling the key. */
  CUSTOMER_MANAGED: 'customer-managed',
} as const);
export type SetQueueEncryption = (typeof SetQueueEncryption)[keyof typeof SetQueueEncryption];

/**
 * What one role may do on the table: actions, each allowed only on items whose partition key
 * matches one of the patterns (IAM `dynamodb:LeadingKeys`, StringLike). Fine-grained access control
 * applies to the item actions inside BatchWriteItem and TransactWriteItems too: "Permissions for Put,
 * Update, Delete, and Get actions are governed by the permissions used for the underlying PutItem,
 * UpdateItem, DeleteItem, and GetItem operations" (DynamoDB developer guide, "Using IAM with DynamoDB
 * transactions"; conditions: "Using IAM policy conditions for fine-grained access control").
 */
export interface TableAccess {
  readonly actions: readonly string[];
  readonly partitions: readonly string[];
}

const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/**
 * The poll Lambda (see lambdas/store/dynamo-queue-store.ts and recipient-registry.ts): it reads a
 * certificate's registration and revocation and a recipient's queue, and writes only queue items
 * (queued SETs, the lease record, delivery records). No Scan: every access is by key or by `Query`
 * on one partition, so a compromised function cannot enumerate the table cheaply, nor register,
 * unrevoke or move a certificate.
 */
export const QUEUE_TABLE_ACCESS: readonly TableAccess[] = Object.freeze([
  { actions: READ_ACTIONS, partitions: [queuePk('*'), certPk('*')] },
  { actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:TransactWriteItems'], partitions: [queuePk('*')] },
]);

/**
 * The management Lambda (lambdas/notifier, lambdas/store/notifier-*.ts): it reads certificates
 * (caller authentication), its providers' partitions (destinations, notifications, receipts:
 * `P#…`), recipients' queues (delivery state) and authorizations (`AUTH#…`), and writes providers'
 * partitions, queues (fan-out, withdrawal), authorizations (a recipient's own consent) and recipients' inboxes (`INBOX#…`, their review). Batched reads and writes for fan-out and status, transactions for atomic
 * bulk changes, and condition checks of authorizations only. Still no Scan, and no write to certificates.
 */
export const NOTIFIER_TABLE_ACCESS: readonly TableAccess[] = Object.freeze([
  { actions: [...READ_ACTIONS, 'dynamodb:BatchGetItem'], partitions: [providerPk('*'), queuePk('*'), authorizationPk('*'), inboxPk('*'), certPk('*')] },
  {
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:TransactWriteItems'],
    partitions: [providerPk('*'), queuePk('*'), authorizationPk('*'), inboxPk('*')],
  },
  // A fan-out's enqueue is one transaction with a ConditionCheck that the recipient's `AUTH#` item
  // still exists; a ConditionCheck needs its own action, dynamodb:ConditionCheckItem
  // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
  { actions: ['dynamodb:ConditionCheckItem'], partitions: [authorizationPk('*')] },
]);

/** Every action a role of that access may use, in order (for tests and docs). */
export const actionsOf = (access: readonly TableAccess[]): string[] => access.flatMap((a) => a.actions);

/**
 * What a DynamoDB caller needs on a customer managed table key. Listed explicitly (the CDK's
 * table grants use `kms:ReEncrypt*` / `kms:GenerateDataKey*`, wildcards that nothing here uses).
 */
export const QUEUE_KEY_ACTIONS: readonly string[] = Object.freeze([
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:DescribeKey',
]);

export interface SetQueueTableProps {
  /**
   * Encryption at rest.
   * @default SetQueueEncryption.AWS_MANAGED, or CUSTOMER_MANAGED when `encryptionKey` is given
   */
  readonly encryption?: SetQueueEncryption;
  /**
   * The customer managed key to use. Ignored unless the encryption is CUSTOMER_MANAGED.
   * @default - with CUSTOMER_MANAGED, a new key with yearly rotation, retained on stack deletion
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Refuse `DeleteTable` (console, API, or a stack replacement) until switched off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the table (and a created key) when it leaves the stack.
   * @default RETAINED (RetainExceptOnCreate): queued SETs and delivery records are customer data
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The single table holding every recipient's SET queue, leases, delivery records and
 * certificate bindings (schema: lambdas/store/schema.ts).
 *
 * On-demand billing because polling traffic is bursty; TTL attribute `ttl` expires delivered
 * records for free; no GSI/LSI because each index would double the write cost of every SET.
 */
export class SetQueueTable extends Construct {
  public readonly table: dynamodb.Table;
  /** The customer managed key, when the table uses one. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: SetQueueTableProps = {}) {
    super(scope, id);

    const encryption =
      props.encryption ?? (props.encryptionKey ? SetQueueEncryption.CUSTOMER_MANAGED : SetQueueEncryption.AWS_MANAGED);
    const removalPolicy = props.removalPolicy ?? RETAINED;

    if (encryption === SetQueueEncryption.CUSTOMER_MANAGED) {
      this.encryptionKey =
        props.encryptionKey ??
        new kms.Key(this, 'Key', {
          description: 'setpoll SET queue table encryption',
          enableKeyRotation: true,
          // Deleting the key destroys every backup and PITR snapshot of the table with it.
          removalPolicy,
        });
    }

    // dynamodb.Table rather than TableV2: TableV2 with a customer managed key needs a concrete
    // region to synthesize, and this app must stay environment-agnostic.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy,
      ...(this.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    });
  }

  /** Grants QUEUE_TABLE_ACCESS on the table ARN, and QUEUE_KEY_ACTIONS on the customer managed key if there is one. */
  public grantQueueAccess(grantee: iam.IGrantable): void {
    this.#grant(grantee, QUEUE_TABLE_ACCESS);
  }

  /** Grants NOTIFIER_TABLE_ACCESS on the table ARN, and QUEUE_KEY_ACTIONS on the customer managed key if there is one. */
  public grantNotifierAccess(grantee: iam.IGrantable): void {
    this.#grant(grantee, NOTIFIER_TABLE_ACCESS);
  }

  #grant(grantee: iam.IGrantable, access: readonly TableAccess[]): void {
    // Only the table ARN: there are no indexes. `ForAllValues`: every partition key the request
    // touches (a batch or a transaction names several) must match one of the patterns.
    for (const { actions, partitions } of access) {
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...actions],
        resourceArns: [this.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] } },
      });
    }
    // The key grant is separate and scoped to this key.
    this.encryptionKey?.grant(grantee, ...QUEUE_KEY_ACTIONS);
  }
}
