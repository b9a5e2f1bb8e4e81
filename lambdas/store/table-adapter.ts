import { ConditionalCheckFailedException, type CancellationReason } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient, type TransactWriteCommandInput, type TransactWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import { ProgrammerError } from '../shared/programmer-error.ts';

/** How an adapter reaches the setpoll table: a document client (document-client.ts) and the table's name. */
export interface TableOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** One item of a TransactWriteItems call (a Put, Update, Delete or ConditionCheck). */
export type TransactWriteItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * TransactWriteItems cancellation reasons a retry can clear: a concurrent transaction on one of the
 * items, or throttling. Any other (a failed condition, a validation error) would fail again alike.
 */
const TRANSIENT_CANCELLATION_REASONS: ReadonlySet<string> = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/** Whether any of a TransactionCanceledException's reasons is one a retry can clear. */
export function anyTransient(reasons: readonly (CancellationReason | undefined)[]): boolean {
  return reasons.some((r) => r?.Code !== undefined && TRANSIENT_CANCELLATION_REASONS.has(r.Code));
}

/**
 * Awaits one conditional write (a Put, Update or Delete with a ConditionExpression): true when it
 * was written, false when DynamoDB refused it on its condition (ConditionalCheckFailedException).
 * Any other error is thrown.
 */
export async function written(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * What every DynamoDB adapter of the setpoll table starts from, in the spirit of Powertools
 * idempotency's BasePersistenceLayer: the client and the table it was built with, the table name
 * checked once here. An adapter of a port declared as an abstract class (QueueStore, StreamStore)
 * extends this and `implements` the port, which has no members of its own to inherit.
 */
export abstract class TableAdapter {
  protected readonly client: DynamoDBDocumentClient;
  protected readonly table: string;

  constructor(options: TableOptions) {
    if (!options.tableName) throw new ProgrammerError('tableName is required');
    this.client = options.client;
    this.table = options.tableName;
  }

  /**
   * One TransactWriteItems call: all of `items` are written or none is; a TransactionCanceledException
   * gives the reason per item, in the order given. `options` are the call's other members.
   */
  protected transact(items: TransactWriteItem[], options?: Omit<TransactWriteCommandInput, 'TransactItems'>): Promise<TransactWriteCommandOutput> {
    return this.client.send(new TransactWriteCommand({ TransactItems: items, ...options }));
  }
}
