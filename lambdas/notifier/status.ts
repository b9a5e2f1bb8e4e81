import type { ReceiptItem } from '../store/notifier-items.ts';
import { NotifierQueue } from '../store/notifier-queue.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { mapLimit } from '../shared/helpers.ts';

/**
 * Where one destination's SET is:
 * - `queued`: waiting in the recipient's queue, not handed out yet (as far as setpoll knows);
 * - `delivered`: handed to the recipient in a poll response and not acknowledged yet;
 * - `acknowledged`: the recipient acknowledged it (`ack`);
 * - `errored`: the recipient reported it with `setErrs` (err, description, lang);
 * - `failed`: it ran out of delivery attempts (maxDeliveryAttempts) unacknowledged;
 * - `withdrawn`: taken back before delivery by a replace or a withdraw;
 * - `expired`: its retention ran out before it was acknowledged.
 */
export type DeliveryState = 'queued' | 'delivered' | 'acknowledged' | 'errored' | 'failed' | 'withdrawn' | 'expired';

export interface DestinationStatus {
  readonly clientId: string;
  readonly jti: string;
  /** The notification revision this SET carries. */
  readonly revision: number;
  readonly state: DeliveryState;
  /** ISO time the SET was queued. */
  readonly queuedAt: string;
  /** ISO time the SET's retention ends. */
  readonly expiresAt: string;
  /** Deliveries counted so far; only known when a delivery-attempt limit is configured. */
  readonly attempts?: number;
  readonly err?: string;
  readonly description?: string;
  /** Content-Language of the recipient's setErrs report. */
  readonly lang?: string;
  /** ISO time of the delivery record (errored, failed), or of the withdrawal. */
  readonly at?: string;
}

const READ_CONCURRENCY = 16;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Derives each receipt's delivery state from what the poll path already writes, so status costs the
 * poll path nothing: the queued SET (present, with `att` when attempts are counted), the recipient's
 * lease record (which SETs are out on lease), and the delivery record `R#<jti>` (errored, failed).
 * An acknowledged SET is simply gone, so `acknowledged` is what remains when the SET is in none of
 * those places and was neither withdrawn nor expired.
 *
 * Limit: with unlimited attempts, a SET whose lease ran out unacknowledged is redeliverable and shows
 * as `queued` again: setpoll keeps no record of past deliveries on that path.
 */
export async function readStatuses(
  queue: QueueStore,
  notifierQueue: NotifierQueue,
  receipts: readonly ReceiptItem[],
  nowMs: number,
): Promise<DestinationStatus[]> {
  const nowSeconds = Math.floor(nowMs / 1000);
  const queued = await notifierQueue.readQueuedSets(receipts.map((r) => ({ clientId: r.clientId, jti: r.jti })));
  return mapLimit(receipts, READ_CONCURRENCY, async (receipt): Promise<DestinationStatus> => {
    const base = {
      clientId: receipt.clientId,
      jti: receipt.jti,
      revision: Number(receipt.revision),
      queuedAt: receipt.queuedAt,
      expiresAt: iso(Number(receipt.expiresAt) * 1000),
    };
    const set = queued.get(NotifierQueue.key(receipt.clientId, receipt.jti));
    if (set && set.ttl > nowSeconds) {
      if ((set.attempts ?? 0) > 0) return { ...base, state: 'delivered', attempts: set.attempts! };
      const lease = await queue.readLease(receipt.clientId, true);
      const leasedUntil = lease.entries.get(receipt.jti) ?? 0;
      return { ...base, state: leasedUntil > nowMs ? 'delivered' : 'queued', ...(set.attempts === undefined ? {} : { attempts: set.attempts }) };
    }
    const record = await queue.readRecord(receipt.clientId, receipt.jti);
    if (record?.state === 'errored') {
      return {
        ...base,
        state: 'errored',
        ...(record.attempts > 0 ? { attempts: record.attempts } : {}),
        ...(record.err === undefined ? {} : { err: record.err }),
        ...(record.description === undefined ? {} : { description: record.description }),
        ...(record.lang === undefined ? {} : { lang: record.lang }),
        at: iso(record.at),
      };
    }
    if (record?.state === 'failed') return { ...base, state: 'failed', attempts: record.attempts, at: iso(record.at) };
    if (receipt.withdrawn === true) return { ...base, state: 'withdrawn', ...(receipt.withdrawnAt ? { at: receipt.withdrawnAt } : {}) };
    if (Number(receipt.expiresAt) <= nowSeconds) return { ...base, state: 'expired' };
    return { ...base, state: 'acknowledged' };
  });
}
