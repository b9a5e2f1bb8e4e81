import { InvalidRequest, SetpollError } from '../core/errors.ts';
import type { DestinationStore, DestinationWrite } from '../store/destination-store.ts';
import type { DestinationItem } from '../store/notifier-items.ts';
import { TransactionRefused } from '../store/store-errors.ts';
import { mapLimit } from '../shared/helpers.ts';
import type { ParsedOperation } from './destination-input.ts';
import { newDestinationItem, notAuthorized, toDestination, type BulkItemResult, type BulkItemStatus, type Destination } from './destination-types.ts';
import { missing, protocolError, stale } from './storage-errors.ts';

/** Non-atomic bulk: operations on different destinations run this many at once. */
const BULK_CONCURRENCY = 16;

/** What the bulk operations need of DestinationService. */
export interface BulkTarget {
  readonly store: DestinationStore;
  readonly now: () => number;
  /** Counts `count` more destinations of the provider (protocol errors: 409 at the limit). */
  reserve(providerId: string, count: number): Promise<void>;
  /** Gives counted destinations back; never fails. */
  release(providerId: string, count: number): Promise<void>;
  /** Of `clientIds`, the recipients that authorize the provider (protocol errors). */
  authorizedAmong(providerId: string, clientIds: readonly string[]): Promise<Set<string>>;
  /** One operation, as the single-item API runs it (protocol errors). */
  apply(providerId: string, op: ParsedOperation): Promise<{ status: 200 | 201 | 204; destination?: Destination }>;
}

type Parsed = readonly (ParsedOperation | InvalidRequest)[];

/**
 * Non-atomic: every operation is attempted and answered on its own. Operations on one destination
 * run in the order given; different destinations run concurrently.
 */
export async function bulkEach(target: BulkTarget, providerId: string, parsed: Parsed, clientIds: readonly string[]): Promise<BulkItemResult[]> {
  const results = new Array<BulkItemResult>(parsed.length);
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
        const done = await target.apply(providerId, op);
        results[index] = { index, clientId: op.clientId, ok: true, ...done };
      } catch (error) {
        results[index] = failed(index, op.clientId, error);
      }
    }
  });
  return results;
}

/** Atomic: one transaction; either every operation is applied or none is. */
export async function bulkAtomic(target: BulkTarget, providerId: string, parsed: Parsed, clientIds: readonly string[]): Promise<BulkItemResult[]> {
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

  // 2. A register needs the recipient's authorization of the provider (the same 403 as one register).
  const registers = ops.filter((op) => op.op === 'register').map((op) => op.clientId);
  const authorized = registers.length === 0 ? new Set<string>() : await target.authorizedAmong(providerId, registers);
  ops.forEach((op, index) => {
    if (op.op === 'register' && !authorized.has(op.clientId)) problems.set(index, notAuthorized());
  });
  if (problems.size > 0) return notApplied(ops.length, clientIds, problems);

  // 3. An update writes the whole new item, conditional on the version read here: the response
  //    then shows exactly what was written, and a concurrent change cancels the transaction.
  const current = await target.store.getMany(providerId, ops.filter((op) => op.op === 'update').map((op) => op.clientId));
  ops.forEach((op, index) => {
    if (op.op !== 'update') return;
    const item = current.get(op.clientId);
    if (!item) problems.set(index, missing('destination', op.clientId));
    else if (op.expectedVersion !== undefined && Number(item.version) !== op.expectedVersion) {
      problems.set(index, stale('destination', op.clientId, Number(item.version), op.expectedVersion));
    }
  });
  if (problems.size > 0) return notApplied(ops.length, clientIds, problems);

  const at = new Date(target.now()).toISOString();
  const written = new Map<number, DestinationItem>();
  const writes = ops.map((op, index): DestinationWrite => {
    switch (op.op) {
      case 'register': {
        const item = newDestinationItem(providerId, op.clientId, op.eventTypes, at);
        written.set(index, item);
        return { kind: 'create', item };
      }
      case 'update': {
        const old = current.get(op.clientId)!;
        const { eventTypes: _previous, ...rest } = old;
        const item: DestinationItem = { ...rest, ...(op.eventTypes === null ? {} : { eventTypes: op.eventTypes }), version: Number(old.version) + 1, updatedAt: at };
        written.set(index, item);
        return { kind: 'replace', item, expectedVersion: Number(old.version) };
      }
      case 'delete':
        return { kind: 'delete', clientId: op.clientId, expectedVersion: op.expectedVersion };
    }
  });

  // The destinations it adds are counted first (and given back if the transaction fails); those it removes, after.
  const added = ops.filter((op) => op.op === 'register').length - ops.filter((op) => op.op === 'delete').length;
  if (added > 0) {
    try {
      await target.reserve(providerId, added);
    } catch (error) {
      if (!(error instanceof SetpollError) || error.statusCode !== 409) throw error;
      ops.forEach((op, index) => op.op === 'register' && problems.set(index, error));
      return notApplied(ops.length, clientIds, problems);
    }
  }
  try {
    await target.store.applyAtomically(providerId, writes);
    if (added < 0) await target.release(providerId, -added);
  } catch (error) {
    if (added > 0) await target.release(providerId, added);
    if (!(error instanceof TransactionRefused)) throw protocolError(error, { kind: 'destination', id: '' });
    for (const [index, reason] of error.reasons) {
      const op = ops[index]!;
      const expected = op.op === 'update' ? Number(current.get(op.clientId)?.version) : op.op === 'delete' ? op.expectedVersion : undefined;
      problems.set(index, protocolError(reason, { kind: 'destination', id: op.clientId, expected }) as SetpollError);
    }
    return notApplied(ops.length, clientIds, problems);
  }
  return ops.map((op, index) => {
    const status = op.op === 'register' ? 201 : op.op === 'update' ? 200 : 204;
    const item = written.get(index);
    return { index, clientId: op.clientId, ok: true, status, ...(item ? { destination: toDestination(item) } : {}) };
  });
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
