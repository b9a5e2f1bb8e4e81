/**
 * Sums DynamoDB ConsumedCapacity from the store's onCapacity listener, per operation, with the
 * billing rules DynamoDB Local does not apply itself:
 *  - every read is billed at least 0.5 unit (eventually consistent) or 1 (strongly consistent),
 *    even one that finds nothing: Local reports 0 for a Query that returns no items;
 *  - every write is billed at least 1 unit;
 *  - TransactWriteItems costs 2 units per item written (Local may under-report transactions), so a
 *    two-item transaction is billed at least 4.
 * Both the figure Local reported and the billed figure are kept, so the report can show the gap.
 */
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import type { CapacityListener } from '../../lambdas/store/dynamo-queue-store.ts';

export type UnitKind = 'read' | 'write';

/** What each store operation is, and its billing floor. */
const OPERATIONS: Record<string, { kind: UnitKind; floor: number; label: string }> = {
  enqueue: { kind: 'write', floor: 1, label: 'PutItem SET (enqueue)' },
  ack: { kind: 'write', floor: 1, label: 'DeleteItem SET (ack)' },
  writeLease: { kind: 'write', floor: 1, label: 'PutItem lease record' },
  readLease: { kind: 'read', floor: 0.5, label: 'GetItem lease record' },
  readHead: { kind: 'read', floor: 0.5, label: 'Query lease record + queue head' },
  readQueue: { kind: 'read', floor: 0.5, label: 'Query queue (later page)' },
  'recordError.read': { kind: 'read', floor: 1, label: 'GetItem SET (setErrs)' },
  moveToRecord: { kind: 'write', floor: 4, label: 'TransactWriteItems (2 items)' },
  countAttempt: { kind: 'write', floor: 1, label: 'UpdateItem attempts' },
};

export interface OperationTotals {
  calls: number;
  reported: number;
  billed: number;
}

export type CapacitySnapshot = ReadonlyMap<string, Readonly<OperationTotals>>;

export class CapacityMeter {
  #totals = new Map<string, OperationTotals>();
  /** Items read by Query calls (ScannedCount), fed by the document client's middleware. */
  queryItems = 0;

  readonly listener: CapacityListener = (operation, capacity) => {
    const reported = unitsOf(capacity);
    const rule = OPERATIONS[operation] ?? { kind: 'write', floor: 0, label: operation };
    const billed = Math.max(reported, rule.floor);
    const t = this.#totals.get(operation) ?? { calls: 0, reported: 0, billed: 0 };
    t.calls++;
    t.reported += reported;
    t.billed += billed;
    this.#totals.set(operation, t);
  };

  reset(): void {
    this.#totals = new Map();
    this.queryItems = 0;
  }

  snapshot(): CapacitySnapshot {
    return new Map([...this.#totals].map(([k, v]) => [k, { ...v }]));
  }
}

export function unitsOf(capacity: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  if (!capacity) return 0;
  const list = Array.isArray(capacity) ? capacity : [capacity];
  return list.reduce((sum, c) => sum + (c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0)), 0);
}

export function kindOf(operation: string): UnitKind {
  return OPERATIONS[operation]?.kind ?? 'write';
}

export function labelOf(operation: string): string {
  return OPERATIONS[operation]?.label ?? operation;
}

/** after − before, per operation. */
export function diff(after: CapacitySnapshot, before: CapacitySnapshot): Map<string, OperationTotals> {
  const out = new Map<string, OperationTotals>();
  for (const [op, a] of after) {
    const b = before.get(op) ?? { calls: 0, reported: 0, billed: 0 };
    const d = { calls: a.calls - b.calls, reported: a.reported - b.reported, billed: a.billed - b.billed };
    if (d.calls > 0) out.set(op, d);
  }
  return out;
}

export function sumKind(totals: ReadonlyMap<string, OperationTotals>, kind: UnitKind, field: 'reported' | 'billed' = 'billed'): number {
  let sum = 0;
  for (const [op, t] of totals) if (kindOf(op) === kind) sum += t[field];
  return sum;
}
