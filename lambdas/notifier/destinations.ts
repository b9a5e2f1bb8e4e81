import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type TransactWriteCommandInput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

type TransactWriteItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
import { Conflict, InvalidRequest, NotFound, ServiceUnavailable, SetpollError } from '../core/errors.ts';
import { batchGetItems } from '../store/notifier-batch.ts';
import { decodeCursor, encodeCursor } from '../store/notifier-cursor.ts';
import type { DestinationItem } from '../store/notifier-items.ts';
import { DESTINATION_PREFIX, destinationSk, providerPk } from '../store/schema.ts';
import { mapLimit } from './concurrency.ts';
import { queryPage } from './query.ts';
import {
  assertProviderId,
  checkClientId,
  checkEventTypes,
  checkExpectedVersion,
  checkLimit,
  isObject,
  rejectUnknownMembers,
} from './validation.ts';

/** A Data Provider's notification destination: a recipient and the event types it receives. */
export interface Destination {
  readonly clientId: string;
  /** Event-type URIs the destination receives; absent means every type. */
  readonly eventTypes?: readonly string[];
  /** Starts at 1; each update adds 1. Pass it back as `expectedVersion` for optimistic concurrency. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RegisterDestinationInput {
  readonly clientId: string;
  /** Omitted (or null): every event type. */
  readonly eventTypes?: readonly string[] | null;
}

export interface UpdateDestinationInput {
  /** The new list, or null for every event type. Required. */
  readonly eventTypes?: readonly string[] | null;
}

export interface ListOptions {
  /** 1 to 100. @default 50 */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  /** Present exactly when more items follow. Opaque. */
  readonly nextCursor?: string;
}

export type BulkOp = 'register' | 'update' | 'delete';

export interface BulkOperation {
  readonly op: BulkOp;
  readonly clientId: string;
  readonly eventTypes?: readonly string[] | null;
  readonly expectedVersion?: number;
}

export interface BulkItemError {
  readonly err: string;
  readonly description: string;
}

/**
 * 201 registered, 200 updated, 204 deleted; 400, 404, 409 as for the single operations;
 * 424 (atomic only) valid but not applied because another operation of the batch failed;
 * 503 a dependency failed on this item (non-atomic only): it may or may not have been applied.
 */
export type BulkItemStatus = 200 | 201 | 204 | 400 | 404 | 409 | 424 | 503;

export interface BulkItemResult {
  readonly index: number;
  /** As given; '' when the operation carried no string clientId. */
  readonly clientId: string;
  readonly ok: boolean;
  readonly status: BulkItemStatus;
  /** The destination after a register or an update. */
  readonly destination?: Destination;
  readonly error?: BulkItemError;
}

export interface BulkResult {
  readonly atomic: boolean;
  /** Atomic: whether the whole batch was applied. Non-atomic: whether any operation was. */
  readonly applied: boolean;
  /** One per operation, in the order given. */
  readonly results: BulkItemResult[];
  readonly totals: { readonly succeeded: number; readonly failed: number };
}

export interface DestinationServiceOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch ms. */
  readonly now?: () => number;
}

/** The documented cap on operations per bulk request; also DynamoDB's cap on one transaction. */
export const MAX_BULK_ITEMS = 100;
/** Non-atomic bulk: operations on different destinations run this many at once. */
const BULK_CONCURRENCY = 16;

const REGISTER_MEMBERS = new Set(['clientId', 'eventTypes']);
const UPDATE_MEMBERS = new Set(['eventTypes']);
const OPERATION_MEMBERS = new Set(['op', 'clientId', 'eventTypes', 'expectedVersion']);

/** A validated bulk operation. */
type ParsedOperation =
  | { op: 'register'; clientId: string; eventTypes: string[] | undefined }
  | { op: 'update'; clientId: string; eventTypes: string[] | null; expectedVersion: number | undefined }
  | { op: 'delete'; clientId: string; expectedVersion: number | undefined };

// Named sub-expressions of the conditions (the Powertools idempotency style): each says one thing.
const DESTINATION_ABSENT = 'attribute_not_exists(#sk)';
const DESTINATION_EXISTS = 'attribute_exists(#sk)';
const VERSION_MATCHES = '#version = :expectedVersion';

const toDestination = (item: DestinationItem): Destination => ({
  clientId: item.clientId,
  ...(item.eventTypes === undefined ? {} : { eventTypes: [...item.eventTypes] }),
  version: Number(item.version),
  createdAt: item.createdAt,
  updatedAt: item.updatedAt,
});

/** The version in an ALL_OLD image returned with a failed condition; undefined when the item was absent. */
const versionOf = (old: Record<string, AttributeValue> | undefined): number | undefined =>
  old === undefined ? undefined : Number(old.version?.N ?? Number.NaN);

/**
 * Notification destination lists, one per Data Provider. Every key starts with the caller's
 * provider id (`P#<providerId>`), so a provider can neither read nor change another's destinations,
 * and asking for one that belongs to someone else is indistinguishable from asking for one that
 * does not exist (404).
 */
export class DestinationService {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: DestinationServiceOptions) {
    if (!options.tableName) throw new TypeError('tableName is required');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
  }

  /** 409 Conflict when the provider already has a destination with this clientId. */
  async register(providerId: string, input: RegisterDestinationInput): Promise<Destination> {
    assertProviderId(providerId);
    return this.#register(providerId, parseRegister(input));
  }

  /** 404 when missing; 409 when `expectedVersion` is given and is not the current version. */
  async update(providerId: string, clientId: string, input: UpdateDestinationInput, expectedVersion?: number): Promise<Destination> {
    assertProviderId(providerId);
    if (!isObject(input)) throw new InvalidRequest('The update must be a JSON object');
    rejectUnknownMembers(input, UPDATE_MEMBERS, 'the update');
    return this.#update(providerId, checkClientId(clientId), parseEventTypesUpdate(input.eventTypes), checkExpectedVersion(expectedVersion));
  }

  /** 404 when missing; 409 when `expectedVersion` is given and is not the current version. */
  async delete(providerId: string, clientId: string, expectedVersion?: number): Promise<void> {
    assertProviderId(providerId);
    await this.#delete(providerId, checkClientId(clientId), checkExpectedVersion(expectedVersion));
  }

  async get(providerId: string, clientId: string): Promise<Destination> {
    assertProviderId(providerId);
    const id = checkClientId(clientId);
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { pk: providerPk(providerId), sk: destinationSk(id) }, ConsistentRead: true }),
    );
    if (!out.Item) throw notFound(id);
    return toDestination(out.Item as DestinationItem);
  }

  /** In clientId order. Eventually consistent: a destination registered a moment ago may be missing. */
  async list(providerId: string, options: ListOptions = {}): Promise<Page<Destination>> {
    assertProviderId(providerId);
    const limit = checkLimit(options.limit);
    const pk = providerPk(providerId);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, pk, DESTINATION_PREFIX).sk;
    const page = await queryPage<DestinationItem>(this.#client, this.#table, {
      pk,
      prefix: DESTINATION_PREFIX,
      limit,
      consistent: false,
      ...(after === undefined ? {} : { afterSk: after }),
    });
    return {
      items: page.items.map(toDestination),
      ...(page.more && page.lastSk ? { nextCursor: encodeCursor({ pk, sk: page.lastSk }) } : {}),
    };
  }

  /**
   * The fan-out's read: destinations after the sort key `afterSk`, in order, strongly consistent
   * (a destination registered just before a notification is issued receives it).
   */
  async pageAfter(providerId: string, afterSk: string | undefined, limit: number): Promise<{ items: (Destination & { sk: string })[]; more: boolean }> {
    assertProviderId(providerId);
    const page = await queryPage<DestinationItem>(this.#client, this.#table, {
      pk: providerPk(providerId),
      prefix: DESTINATION_PREFIX,
      limit,
      consistent: true,
      ...(afterSk === undefined ? {} : { afterSk }),
    });
    return { items: page.items.map((item) => ({ ...toDestination(item), sk: item.sk })), more: page.more };
  }

  /**
   * Up to MAX_BULK_ITEMS register, update and delete operations (more, or none: 400).
   *
   * Non-atomic (default): every operation is attempted and answered on its own; the call throws only
   * for a malformed request. Operations on the same clientId run in the order given. A dependency
   * failure on one operation is reported on that item as 503 (it may or may not have been applied),
   * so the caller knows exactly which items took effect.
   *
   * Atomic: one DynamoDB transaction; either every operation is applied or none is (`applied`).
   * When one fails, its result says why (400, 404, 409) and the others answer 424. A clientId may
   * appear only once in an atomic batch (DynamoDB cannot touch one item twice in a transaction).
   */
  async bulk(providerId: string, operations: readonly BulkOperation[], options: { atomic?: boolean } = {}): Promise<BulkResult> {
    assertProviderId(providerId);
    if (!Array.isArray(operations) || operations.length < 1 || operations.length > MAX_BULK_ITEMS) {
      throw new InvalidRequest(`A bulk request holds 1 to ${MAX_BULK_ITEMS} operations`);
    }
    const parsed = operations.map((raw: unknown): ParsedOperation | InvalidRequest => {
      try {
        return parseOperation(raw);
      } catch (error) {
        if (error instanceof InvalidRequest) return error;
        throw error;
      }
    });
    const clientIds = operations.map((raw: unknown) => (isObject(raw) && typeof raw.clientId === 'string' ? raw.clientId : ''));
    const results = options.atomic === true ? await this.#bulkAtomic(providerId, parsed, clientIds) : await this.#bulkEach(providerId, parsed, clientIds);
    const succeeded = results.filter((r) => r.ok).length;
    return {
      atomic: options.atomic === true,
      applied: options.atomic === true ? succeeded === results.length : succeeded > 0,
      results,
      totals: { succeeded, failed: results.length - succeeded },
    };
  }

  async #register(providerId: string, op: { clientId: string; eventTypes: string[] | undefined }): Promise<Destination> {
    const at = new Date(this.#now()).toISOString();
    const item = newItem(providerId, op.clientId, op.eventTypes, at);
    try {
      await this.#client.send(
        new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: DESTINATION_ABSENT, ExpressionAttributeNames: { '#sk': 'sk' } }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new Conflict(`A destination ${op.clientId} is already registered`, { cause: error });
      throw error;
    }
    return toDestination(item);
  }

  async #update(providerId: string, clientId: string, eventTypes: string[] | null, expectedVersion: number | undefined): Promise<Destination> {
    const condition = expectedVersion === undefined ? DESTINATION_EXISTS : `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`;
    const set = ['#version = #version + :one', '#updatedAt = :now', ...(eventTypes === null ? [] : ['#eventTypes = :eventTypes'])];
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: providerPk(providerId), sk: destinationSk(clientId) },
          UpdateExpression: `SET ${set.join(', ')}${eventTypes === null ? ' REMOVE #eventTypes' : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#sk': 'sk', '#version': 'version', '#updatedAt': 'updatedAt', '#eventTypes': 'eventTypes' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':now': new Date(this.#now()).toISOString(),
            ...(eventTypes === null ? {} : { ':eventTypes': eventTypes }),
            ...(expectedVersion === undefined ? {} : { ':expectedVersion': expectedVersion }),
          },
          ReturnValues: 'ALL_NEW',
          // Tells a missing destination (404) from a stale version (409) without a second read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toDestination(out.Attributes as DestinationItem);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw missingOrStale(clientId, versionOf(error.Item), expectedVersion, error);
      throw error;
    }
  }

  async #delete(providerId: string, clientId: string, expectedVersion: number | undefined): Promise<void> {
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: providerPk(providerId), sk: destinationSk(clientId) },
          ConditionExpression: expectedVersion === undefined ? DESTINATION_EXISTS : `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`,
          ExpressionAttributeNames: { '#sk': 'sk', ...(expectedVersion === undefined ? {} : { '#version': 'version' }) },
          ...(expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':expectedVersion': expectedVersion } }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw missingOrStale(clientId, versionOf(error.Item), expectedVersion, error);
      throw error;
    }
  }

  async #apply(providerId: string, op: ParsedOperation): Promise<{ status: 200 | 201 | 204; destination?: Destination }> {
    switch (op.op) {
      case 'register':
        return { status: 201, destination: await this.#register(providerId, op) };
      case 'update':
        return { status: 200, destination: await this.#update(providerId, op.clientId, op.eventTypes, op.expectedVersion) };
      case 'delete':
        await this.#delete(providerId, op.clientId, op.expectedVersion);
        return { status: 204 };
    }
  }

  async #bulkEach(providerId: string, parsed: readonly (ParsedOperation | InvalidRequest)[], clientIds: readonly string[]): Promise<BulkItemResult[]> {
    const results = new Array<BulkItemResult>(parsed.length);
    // Operations on one destination run in the order given; different destinations run concurrently.
    const groups = new Map<string, number[]>();
    parsed.forEach((op, index) => {
      if (op instanceof InvalidRequest) {
        results[index] = failed(index, clientIds[index]!, op);
        return;
      }
      const group = groups.get(op.clientId);
      if (group) group.push(index);
      else groups.set(op.clientId, [index]);
    });
    await mapLimit([...groups.values()], BULK_CONCURRENCY, async (indexes) => {
      for (const index of indexes) {
        const op = parsed[index] as ParsedOperation;
        try {
          const done = await this.#apply(providerId, op);
          results[index] = { index, clientId: op.clientId, ok: true, ...done };
        } catch (error) {
          results[index] = failed(index, op.clientId, error);
        }
      }
    });
    return results;
  }

  async #bulkAtomic(providerId: string, parsed: readonly (ParsedOperation | InvalidRequest)[], clientIds: readonly string[]): Promise<BulkItemResult[]> {
    // 1. Every operation must be valid, and name its destination once.
    const problems = new Map<number, SetpollError>();
    const seen = new Map<string, number>();
    parsed.forEach((op, index) => {
      if (op instanceof InvalidRequest) return void problems.set(index, op);
      if (seen.has(op.clientId)) problems.set(index, new InvalidRequest(`clientId ${op.clientId} appears more than once in an atomic bulk request`));
      else seen.set(op.clientId, index);
    });
    if (problems.size > 0) return notApplied(parsed.length, clientIds, problems);
    const ops = parsed as readonly ParsedOperation[];

    // 2. An update writes the whole new item, conditional on the version read here: the response
    //    then shows exactly what was written, and a concurrent change cancels the transaction.
    const current = await this.#readMany(providerId, ops.filter((op) => op.op === 'update').map((op) => op.clientId));
    ops.forEach((op, index) => {
      if (op.op !== 'update') return;
      const item = current.get(op.clientId);
      if (!item) problems.set(index, notFound(op.clientId));
      else if (op.expectedVersion !== undefined && Number(item.version) !== op.expectedVersion) {
        problems.set(index, stale(op.clientId, Number(item.version), op.expectedVersion));
      }
    });
    if (problems.size > 0) return notApplied(ops.length, clientIds, problems);

    const at = new Date(this.#now()).toISOString();
    const pk = providerPk(providerId);
    const written = new Map<number, DestinationItem>();
    const transactItems = ops.map((op, index): TransactWriteItem => {
      switch (op.op) {
        case 'register': {
          const item = newItem(providerId, op.clientId, op.eventTypes, at);
          written.set(index, item);
          return { Put: { TableName: this.#table, Item: item, ConditionExpression: DESTINATION_ABSENT, ExpressionAttributeNames: { '#sk': 'sk' } } };
        }
        case 'update': {
          const old = current.get(op.clientId)!;
          const { eventTypes: _previous, ...rest } = old;
          const item: DestinationItem = { ...rest, ...(op.eventTypes === null ? {} : { eventTypes: op.eventTypes }), version: Number(old.version) + 1, updatedAt: at };
          written.set(index, item);
          return {
            Put: {
              TableName: this.#table,
              Item: item,
              ConditionExpression: `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`,
              ExpressionAttributeNames: { '#sk': 'sk', '#version': 'version' },
              ExpressionAttributeValues: { ':expectedVersion': Number(old.version) },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
            },
          };
        }
        case 'delete':
          return {
            Delete: {
              TableName: this.#table,
              Key: { pk, sk: destinationSk(op.clientId) },
              ConditionExpression: op.expectedVersion === undefined ? DESTINATION_EXISTS : `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`,
              ExpressionAttributeNames: { '#sk': 'sk', ...(op.expectedVersion === undefined ? {} : { '#version': 'version' }) },
              ...(op.expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':expectedVersion': op.expectedVersion } }),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
            },
          };
      }
    });

    try {
      // The token makes the SDK's own retries of this call idempotent (for 10 minutes).
      await this.#client.send(new TransactWriteCommand({ TransactItems: transactItems, ClientRequestToken: randomUUID() }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      ops.forEach((op, index) => {
        const reason = reasons[index];
        if (reason === undefined) return;
        switch (reason.Code) {
          case undefined:
          case 'None':
            return;
          case 'ConditionalCheckFailed': {
            const expected = op.op === 'update' ? Number(current.get(op.clientId)?.version) : op.op === 'delete' ? op.expectedVersion : undefined;
            problems.set(index, op.op === 'register' ? duplicate(op.clientId) : missingOrStale(op.clientId, versionOf(reason.Item), expected));
            return;
          }
          case 'TransactionConflict':
            problems.set(index, new Conflict(`The destination ${op.clientId} was changed concurrently; read it and retry`));
            return;
          default:
            problems.set(index, new ServiceUnavailable(`DynamoDB could not apply the operation (${reason.Code}); retry`, 1));
        }
      });
      if (problems.size === 0) throw error;
      return notApplied(ops.length, clientIds, problems);
    }
    return ops.map((op, index) => {
      const status = op.op === 'register' ? 201 : op.op === 'update' ? 200 : 204;
      const item = written.get(index);
      return { index, clientId: op.clientId, ok: true, status, ...(item ? { destination: toDestination(item) } : {}) };
    });
  }

  /** Strongly consistent batch read of one provider's destinations. */
  async #readMany(providerId: string, clientIds: readonly string[]): Promise<Map<string, DestinationItem>> {
    const items = await batchGetItems<DestinationItem>(
      this.#client,
      this.#table,
      clientIds.map((id) => ({ pk: providerPk(providerId), sk: destinationSk(id) })),
    );
    return new Map(items.map((item) => [item.clientId, item]));
  }
}

function newItem(providerId: string, clientId: string, eventTypes: string[] | undefined, at: string): DestinationItem {
  return {
    pk: providerPk(providerId),
    sk: destinationSk(clientId),
    clientId,
    ...(eventTypes === undefined ? {} : { eventTypes }),
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
}

function parseRegister(input: unknown): { clientId: string; eventTypes: string[] | undefined } {
  if (!isObject(input)) throw new InvalidRequest('The destination must be a JSON object');
  rejectUnknownMembers(input, REGISTER_MEMBERS, 'the destination');
  const clientId = checkClientId(input.clientId);
  const eventTypes = input.eventTypes === undefined || input.eventTypes === null ? undefined : checkEventTypes(input.eventTypes);
  return { clientId, eventTypes };
}

function parseEventTypesUpdate(value: unknown): string[] | null {
  if (value === undefined) throw new InvalidRequest('An update needs eventTypes: an array of event-type URIs, or null for every type');
  return value === null ? null : checkEventTypes(value);
}

function parseOperation(raw: unknown): ParsedOperation {
  if (!isObject(raw)) throw new InvalidRequest('Each operation must be a JSON object');
  rejectUnknownMembers(raw, OPERATION_MEMBERS, 'the operation');
  const clientId = checkClientId(raw.clientId);
  switch (raw.op) {
    case 'register':
      if (raw.expectedVersion !== undefined) throw new InvalidRequest('register takes no expectedVersion');
      return { op: 'register', ...parseRegister({ clientId, ...(raw.eventTypes === undefined ? {} : { eventTypes: raw.eventTypes }) }) };
    case 'update':
      return { op: 'update', clientId, eventTypes: parseEventTypesUpdate(raw.eventTypes), expectedVersion: checkExpectedVersion(raw.expectedVersion) };
    case 'delete':
      if (raw.eventTypes !== undefined) throw new InvalidRequest('delete takes no eventTypes');
      return { op: 'delete', clientId, expectedVersion: checkExpectedVersion(raw.expectedVersion) };
    default:
      throw new InvalidRequest('op must be "register", "update" or "delete"');
  }
}

const notFound = (clientId: string) => new NotFound(`No destination ${clientId}`);
const duplicate = (clientId: string) => new Conflict(`A destination ${clientId} is already registered`);
const stale = (clientId: string, current: number, expected: number | undefined) =>
  new Conflict(`The destination ${clientId} is at version ${current}, not ${expected}; read it and retry`);

/** A failed condition on an existing item is a stale version (409); on a missing one, 404. */
function missingOrStale(clientId: string, currentVersion: number | undefined, expected: number | undefined, cause?: unknown): SetpollError {
  if (currentVersion === undefined) return new NotFound(`No destination ${clientId}`, { cause });
  return stale(clientId, currentVersion, expected);
}

function failed(index: number, clientId: string, error: unknown): BulkItemResult {
  if (error instanceof SetpollError && error.statusCode < 500 && error.expose) {
    const status = error.statusCode as BulkItemStatus;
    return { index, clientId, ok: false, status, error: { err: error.code, description: error.message } };
  }
  if (error instanceof TypeError) throw error;
  // A dependency failed (throttled, 5xx, timed out): the write may or may not have happened.
  return {
    index,
    clientId,
    ok: false,
    status: 503,
    error: { err: 'temporarily_unavailable', description: 'A dependency failed; this operation may or may not have been applied: read the destination and retry' },
  };
}

/** Atomic results when nothing was applied: the failing items say why, the others answer 424. */
function notApplied(length: number, clientIds: readonly string[], problems: ReadonlyMap<number, SetpollError>): BulkItemResult[] {
  return Array.from({ length }, (_, index): BulkItemResult => {
    const problem = problems.get(index);
    if (problem) {
      return { index, clientId: clientIds[index]!, ok: false, status: problem.statusCode as BulkItemStatus, error: { err: problem.code, description: problem.message } };
    }
    return {
      index,
      clientId: clientIds[index]!,
      ok: false,
      status: 424,
      error: { err: 'not_applied', description: 'Valid, but not applied: another operation of this atomic request failed' },
    };
  });
}
