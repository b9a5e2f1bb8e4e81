import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { StoreUnavailable } from './store-errors.ts';
import type { QueueStore } from './queue-store.ts';
import { decodeJwt } from 'jose';
import { SET_PROVIDER_CLAIM } from '../contract.ts';
import { LEASE_SK, SET_PREFIX, inboxPk, inboxSk, queuePk, receiptPk, receiptSk, setSk, type QueuedSetItem } from './schema.ts';
import { batchGetItems } from './notifier-batch.ts';
import { queryPage } from './notifier-query.ts';
import { pauseBeforeRetry } from '../shared/helpers.ts';
import { TableAdapter, anyTransient, type TableOptions } from './table-adapter.ts';

/** What withdrawing one queued SET found. */
export type WithdrawOutcome =
  /** It was queued and never delivered: it is gone from the queue (and its receipt marked). */
  | 'withdrawn'
  /** The recipient has received it (its lease record names it, or a delivery attempt was counted): left alone. */
  | 'delivered'
  /** It was no longer queued: acknowledged, reported with setErrs, failed or expired. */
  | 'gone';

/** A provider's SET waiting in a recipient's queue: what a deauthorization withdraws. */
export interface ProviderSet {
  readonly jti: string;
  /** Absent on a SET queued before queued items named their notification. */
  readonly notificationId?: string;
}

/** A queued SET as the Notifier reads it for status. */
export interface QueuedSetState {
  readonly ttl: number;
  /** Deliveries counted so far; only present when a delivery-attempt limit is configured. */
  readonly attempts?: number;
}

/** The notification whose receipt (for the SET's recipient) a withdrawal marks. */
export interface ReceiptOf {
  readonly providerId: string;
  readonly notificationId: string;
}

export interface NotifierQueueOptions extends TableOptions {
  readonly queue: QueueStore;
}

const WITHDRAW_RETRIES = 8;
const PROVIDER_SETS_PAGE = 100;
/** A lease record the Notifier had to create is worth keeping no longer than a day. */
const EMPTY_LEASE_TTL_SECONDS = 86_400;


const key = (clientId: string, jti: string): string => `${clientId}\u0000${jti}`;

/**
 * The Notifier's reads and writes of recipient queues beyond what QueueStore offers: reading
 * queued SETs by key, and withdrawing an undelivered SET so that no concurrent poll can deliver it.
 */
export class NotifierQueue extends TableAdapter {
  readonly #queue: QueueStore;

  constructor(options: NotifierQueueOptions) {
    super(options);
    this.#queue = options.queue;
  }

  /** The key readQueuedSets answers by: (clientId, jti). */
  static key = key;

  /** Reads queued SETs by (clientId, jti), strongly consistent. Keyed by NotifierQueue.key. */
  async readQueuedSets(wanted: readonly { clientId: string; jti: string }[]): Promise<Map<string, QueuedSetState>> {
    const items = await batchGetItems<QueuedSetItem>(
      this.client,
      this.table,
      wanted.map((w) => ({ pk: queuePk(w.clientId), sk: setSk(w.jti) })),
      { expression: 'pk, sk, jti, #ttl, att', names: { '#ttl': 'ttl' } },
    );
    const found = new Map<string, QueuedSetState>();
    for (const item of items) {
      const clientId = item.pk.slice(queuePk('').length);
      found.set(key(clientId, item.jti), { ttl: Number(item.ttl), ...(item.att === undefined ? {} : { attempts: Number(item.att) }) });
    }
    return found;
  }

  /**
   * Every SET of `providerId` in `clientId`'s queue, a page at a time (strongly consistent). A SET
   * queued before items named their provider is recognised by its signed `data_provider` claim.
   */
  async *providerSets(clientId: string, providerId: string): AsyncGenerator<ProviderSet[]> {
    let afterSk: string | undefined;
    do {
      const page = await queryPage<QueuedSetItem>(this.client, this.table, {
        pk: queuePk(clientId),
        prefix: SET_PREFIX,
        limit: PROVIDER_SETS_PAGE,
        consistent: true,
        ...(afterSk === undefined ? {} : { afterSk }),
      });
      yield page.items
        .filter((item) => (item.prov ?? providerClaimOf(item.set)) === providerId)
        .map((item) => ({ jti: item.jti, ...(item.nid === undefined ? {} : { notificationId: item.nid }) }));
      afterSk = page.more ? page.lastSk : undefined;
    } while (afterSk !== undefined);
  }

  /**
   * Takes an undelivered SET out of its recipient's queue and, in the same transaction, marks the
   * receipt of notification `receipt` for this recipient withdrawn (when it still names this jti).
   *
   * "Undelivered" means: the recipient's lease record does not name the jti and no delivery attempt
   * was counted (`att`). The transaction also bumps the lease record's version: a poll that read the
   * queue before the delete then fails its conditional lease write and selects again, so it can never
   * hand out a SET this call withdrew. If a poll leased the SET first, this call's version condition
   * fails, the lease is read again, and the SET is reported `delivered`.
   */
  async withdraw(clientId: string, jti: string, receipt: ReceiptOf | undefined, nowMs: number): Promise<WithdrawOutcome> {
    let withReceipt = receipt !== undefined;
    // The recipient's inbox entry says withdrawn too (absent for a SET queued before inboxes: then left out).
    let withInbox = true;
    for (let attempt = 0; attempt < WITHDRAW_RETRIES; attempt++) {
      if (attempt > 0) await pauseBeforeRetry(attempt, 5);
      const lease = await this.#queue.readLease(clientId, true);
      if (lease.entries.has(jti)) return 'delivered';

      const leaseVersionUnchanged = lease.version === 0 ? 'attribute_not_exists(sk)' : '#v = :v';
      const setStillQueued = 'attribute_exists(sk)';
      const neverAttempted = '(attribute_not_exists(#att) OR #att = :zero)';
      const receiptNamesJti = 'attribute_exists(sk) AND #jti = :jti';
      try {
        await this.transact([
          {
            Update: {
              TableName: this.table,
              Key: { pk: queuePk(clientId), sk: LEASE_SK },
              // Only the version changes: the leases (`l`) stay as the poll path wrote them, in
              // whatever shape it uses; a record created here has none, which reads as empty.
              UpdateExpression: 'SET #v = :next, #ttl = if_not_exists(#ttl, :ttl)',
              ConditionExpression: leaseVersionUnchanged,
              ExpressionAttributeNames: { '#v': 'v', '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':next': lease.version + 1,
                ':ttl': Math.ceil(nowMs / 1000) + EMPTY_LEASE_TTL_SECONDS,
                ...(lease.version === 0 ? {} : { ':v': lease.version }),
              },
            },
          },
          {
            Delete: {
              TableName: this.table,
              Key: { pk: queuePk(clientId), sk: setSk(jti) },
              ConditionExpression: `${setStillQueued} AND ${neverAttempted}`,
              ExpressionAttributeNames: { '#att': 'att' },
              ExpressionAttributeValues: { ':zero': 0 },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          ...(withInbox
            ? [
                {
                  Update: {
                    TableName: this.table,
                    Key: { pk: inboxPk(clientId), sk: inboxSk(jti) },
                    UpdateExpression: 'SET #w = :true, #wat = :at',
                    ConditionExpression: 'attribute_exists(sk)',
                    ExpressionAttributeNames: { '#w': 'withdrawn', '#wat': 'withdrawnAt' },
                    ExpressionAttributeValues: { ':true': true, ':at': new Date(nowMs).toISOString() },
                  },
                },
              ]
            : []),
          ...(withReceipt && receipt
            ? [
                {
                  Update: {
                    TableName: this.table,
                    Key: { pk: receiptPk(receipt.providerId, receipt.notificationId), sk: receiptSk(clientId) },
                    UpdateExpression: 'SET #w = :true, #wat = :at',
                    ConditionExpression: receiptNamesJti,
                    ExpressionAttributeNames: { '#w': 'withdrawn', '#wat': 'withdrawnAt', '#jti': 'jti' },
                    ExpressionAttributeValues: { ':true': true, ':at': new Date(nowMs).toISOString(), ':jti': jti },
                  },
                },
              ]
            : []),
        ]);
        return 'withdrawn';
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [leaseReason, setReason, ...marks] = error.CancellationReasons ?? [];
        const inboxReason = withInbox ? marks.shift() : undefined;
        const receiptReason = marks.shift();
        // Present but attempted: delivered. Absent: acked, errored, failed or expired.
        if (setReason?.Code === 'ConditionalCheckFailed') return setReason.Item ? 'delivered' : 'gone';
        // A newer revision overwrote the receipt: withdraw the SET and leave the receipt be.
        if (receiptReason?.Code === 'ConditionalCheckFailed') withReceipt = false;
        if (inboxReason?.Code === 'ConditionalCheckFailed') withInbox = false;
        // A lease version that moved, or a mark just left out above, is worth another attempt too.
        const moved = [leaseReason, inboxReason, receiptReason].some((r) => r?.Code === 'ConditionalCheckFailed');
        if (!moved && !anyTransient([leaseReason, setReason, inboxReason, receiptReason])) throw error;
      }
    }
    throw new StoreUnavailable(`The queue of ${clientId} is too busy to withdraw a SET; retry shortly`);
  }
}

/** The `data_provider` claim of a SET this deployment signed; undefined for a producer's own SET or an unreadable one. */
function providerClaimOf(set: string): string | undefined {
  try {
    const claim = decodeJwt(set)[SET_PROVIDER_CLAIM];
    return typeof claim === 'string' ? claim : undefined;
  } catch {
    return undefined;
  }
}
