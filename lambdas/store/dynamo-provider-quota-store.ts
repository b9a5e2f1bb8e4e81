import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { ProviderQuotaStore } from './provider-quota-store.ts';
import { DESTINATION_PREFIX, DESTINATION_COUNT_SK, notificationRateSk, providerPk } from './schema.ts';
import { LimitReached } from './store-errors.ts';
import { TableAdapter } from './table-adapter.ts';

/** A minute's notification counter outlives its minute by a day (DynamoDB's TTL deletion may lag anyway). */
const RATE_TTL_SECONDS = 86_400;

/**
 * Counters in the provider's own partition: `C#destinations` (n) and `C#rate#<epoch minute>` (n, ttl).
 *
 * The destination count is reserved before a destination is written and released after a delete
 * (or when the write did not happen), each one conditional UpdateItem: concurrent registrations
 * serialize on the counter without transactions, and a crash between the two steps can only leave
 * the count too high (the limit errs on the safe side). A provider whose destinations predate the
 * counter has them counted once, on its first reservation.
 *
 * The rate is a fixed window per minute: at most `perMinute` in each calendar minute (so up to twice
 * that across a minute boundary).
 */
export class DynamoProviderQuotaStore extends TableAdapter implements ProviderQuotaStore {
  async reserveDestinations(providerId: string, count: number, max: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#changeCount(providerId, { update: 'SET #n = #n + :count', condition: '#n <= :room', values: { ':count': count, ':room': max - count } });
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (error.Item !== undefined || attempt > 0) throw new LimitReached(`The provider holds its limit of ${max} destinations`, max, { cause: error });
        await this.#startCount(providerId);
      }
    }
  }

  async releaseDestinations(providerId: string, count: number): Promise<void> {
    try {
      await this.#changeCount(providerId, { update: 'SET #n = #n - :count', condition: '#n >= :count', values: { ':count': count } });
    } catch (error) {
      // No count yet (it starts from the destinations themselves), or already at 0: nothing to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async destinationCount(providerId: string): Promise<number> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk: providerPk(providerId), sk: DESTINATION_COUNT_SK }, ConsistentRead: true }));
    return out.Item === undefined ? this.#startCount(providerId) : Number(out.Item.n);
  }

  async countNotifications(providerId: string, count: number, perMinute: number, nowMs: number) {
    const minute = Math.floor(nowMs / 60_000);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: providerPk(providerId), sk: notificationRateSk(minute) },
          UpdateExpression: 'SET #n = if_not_exists(#n, :zero) + :count, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#n) OR #n <= :room',
          ExpressionAttributeNames: { '#n': 'n', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':zero': 0, ':count': count, ':room': perMinute - count, ':ttl': (minute + 1) * 60 + RATE_TTL_SECONDS },
        }),
      );
      return { admitted: true } as const;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - nowMs) / 1000)) } as const;
    }
  }

  /**
   * Changes the provider's destination count where it exists and `condition` holds. A refusal
   * (ConditionalCheckFailedException) carries the stored count item, absent when there is none yet.
   */
  #changeCount(providerId: string, change: { update: string; condition: string; values: Record<string, number> }): Promise<unknown> {
    return this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: providerPk(providerId), sk: DESTINATION_COUNT_SK },
        UpdateExpression: change.update,
        ConditionExpression: `attribute_exists(#n) AND ${change.condition}`,
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: change.values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  }

  /** Counts the provider's destinations (a COUNT Query) and stores that as its count, unless one appeared meanwhile. */
  async #startCount(providerId: string): Promise<number> {
    const pk = providerPk(providerId);
    let n = 0;
    // Select COUNT: DynamoDB counts the destinations without returning them.
    const pages = paginateQuery(
      { client: this.client },
      { TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)', ExpressionAttributeValues: { ':pk': pk, ':d': DESTINATION_PREFIX }, Select: 'COUNT', ConsistentRead: true },
    );
    for await (const page of pages) n += page.Count ?? 0;
    try {
      await this.client.send(
        new PutCommand({ TableName: this.table, Item: { pk, sk: DESTINATION_COUNT_SK, n }, ConditionExpression: 'attribute_not_exists(#sk)', ExpressionAttributeNames: { '#sk': 'sk' } }),
      );
      return n;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return this.destinationCount(providerId);
    }
  }
}
