import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { RETAINED } from './removal.ts';

/** How the SET queue table is encrypted at rest. */
export enum SetQueueEncryption {
  /** The AWS managed key `aws/dynamodb`: no key to operate, CloudTrail-visible KMS use. */
  AWS_MANAGED = 'aws-managed',
  /** A customer managed KMS key: key policy control and crypto-shredding by disabling the key. */
  CUSTOMER_MANAGED = 'customer-managed',
}

/**
 * The only DynamoDB actions the poll Lambda needs (see lambdas/store/dynamo-queue-store.ts).
 * No Scan: every access is by key or by `Query` on one recipient's partition, so a compromised
 * function cannot enumerate other recipients' queues cheaply. No DescribeTable / streams.
 */
export const QUEUE_TABLE_ACTIONS: readonly string[] = Object.freeze([
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:UpdateItem',
  'dynamodb:TransactWriteItems',
]);

/**
 * The DynamoDB actions of the management Lambda (lambdas/notifier, lambdas/store/notifier-*.ts):
 * destinations and notifications by key or by Query on the provider's own partition, batched
 * reads and writes for fan-out and status, transactions for atomic bulk changes. Still no Scan.
 */
export const NOTIFIER_TABLE_ACTIONS: readonly string[] = Object.freeze([
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:TransactWriteItems',
]);

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

  /**
   * Grants exactly QUEUE_TABLE_ACTIONS on the table ARN (no index ARNs: there are no indexes),
   * and QUEUE_KEY_ACTIONS on the customer managed key if there is one.
   */
  public grantQueueAccess(grantee: iam.IGrantable): iam.Grant {
    return this.#grant(grantee, QUEUE_TABLE_ACTIONS);
  }

  /**
   * Grants exactly NOTIFIER_TABLE_ACTIONS on the table ARN, and QUEUE_KEY_ACTIONS on the customer
   * managed key if there is one.
   */
  public grantNotifierAccess(grantee: iam.IGrantable): iam.Grant {
    return this.#grant(grantee, NOTIFIER_TABLE_ACTIONS);
  }

  #grant(grantee: iam.IGrantable, actions: readonly string[]): iam.Grant {
    const grant = this.table.grant(grantee, ...actions);
    // table.grant() covers only the table; the key grant is separate and scoped to this key.
    this.encryptionKey?.grant(grantee, ...QUEUE_KEY_ACTIONS);
    return grant;
  }
}

