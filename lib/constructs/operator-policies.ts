import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { SetQueueTable } from './set-queue-table.ts';

/**
 * What `setpoll queue backlog|records|drain`, `recipients list|show` and the dry runs need: reads by
 * key and by Query on one partition, and Scan for `recipients list` of every recipient (the table
 * has no index to list them by; docs/runbook.md, "Permissions").
 */
export const OPERATOR_READ_ACTIONS: readonly string[] = Object.freeze(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']);

/**
 * What the writing commands add (`recipients add|remove|rotate|revoke|unrevoke`, `queue purge|replay`).
 * A transaction needs the permission of each action in it, and `dynamodb:ConditionCheckItem` for its
 * condition checks (`recipients rotate` checks the new certificate is not revoked).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
 */
export const OPERATOR_WRITE_ACTIONS: readonly string[] = Object.freeze([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
]);

/** On a customer managed table key: read, and write. */
const KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_WRITE_ACTIONS = ['kms:Encrypt', 'kms:GenerateDataKey'];

/**
 * `setpoll keys rotate --table … --kms-key-arn ARN` reads the current signing key's public key
 * (KmsSigner.create: GetPublicKey) to keep it published as a previous key. Never kms:Sign: an
 * operator publishes keys, it does not sign SETs.
 */
export const OPERATOR_SIGNING_KEY_ACTIONS: readonly string[] = Object.freeze(['kms:GetPublicKey']);

export interface OperatorPoliciesProps {
  readonly queue: SetQueueTable;
  /** The SET signing key, whose public key `setpoll keys rotate` reads (admin only). */
  readonly signingKey?: kms.IKey;
}

/**
 * Managed policies to attach to the operators' roles (SSO permission sets, IAM roles): read-only
 * for the people who look, admin for the people who change recipients and queues. They match
 * docs/runbook.md's permissions table, on this stack's table (and its key) only.
 */
export class OperatorPolicies extends Construct {
  public readonly readOnly: iam.ManagedPolicy;
  public readonly admin: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPoliciesProps) {
    super(scope, id);
    const tableArn = props.queue.table.tableArn;
    const keyArn = props.queue.encryptionKey?.keyArn;
    const statements = (tableActions: readonly string[], keyActions: readonly string[]): iam.PolicyStatement[] => [
      new iam.PolicyStatement({ sid: 'SetQueueTable', actions: [...tableActions], resources: [tableArn] }),
      ...(keyArn ? [new iam.PolicyStatement({ sid: 'SetQueueTableKey', actions: [...keyActions], resources: [keyArn] })] : []),
    ];

    this.readOnly = new iam.ManagedPolicy(this, 'ReadOnly', {
      description: 'setpoll operators: read backlogs, delivery records and recipients (setpoll queue backlog|records|drain, recipients list|show)',
      statements: statements(OPERATOR_READ_ACTIONS, KEY_READ_ACTIONS),
    });
    this.admin = new iam.ManagedPolicy(this, 'Admin', {
      description: 'setpoll operators: also register, rotate and revoke recipient certificates, purge and replay queues, publish and rotate keys',
      statements: [
        ...statements([...OPERATOR_READ_ACTIONS, ...OPERATOR_WRITE_ACTIONS], [...KEY_READ_ACTIONS, ...KEY_WRITE_ACTIONS]),
        ...(props.signingKey
          ? [new iam.PolicyStatement({ sid: 'SigningKeyPublicKey', actions: [...OPERATOR_SIGNING_KEY_ACTIONS], resources: [props.signingKey.keyArn] })]
          : []),
      ],
    });
  }
}
