import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ProgrammerError } from '../shared/programmer-error.ts';

/** How an adapter reaches the setpoll table: a document client (document-client.ts) and the table's name. */
export interface TableOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
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
}
