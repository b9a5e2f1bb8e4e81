import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { NewNotification, NotificationStore, ProgressChange } from './notification-store.ts';
import type { NotificationItem } from './notifier-items.ts';
import { listPage, type ListPage } from './notifier-query.ts';
import { NOTIFICATION_PREFIX, notificationSk, providerPk } from './schema.ts';
import { ItemExists, ItemMissing, VersionConflict } from './store-errors.ts';
import { TableAdapter } from './table-adapter.ts';

/**
 * Claims are stored as their JSON text (`claims`, a string): a DynamoDB map cannot hold every JSON
 * value (numbers beyond 38 digits or outside 1E-130..9.9E125, 32 levels of nesting), and the text
 * brings back exactly the values that were checked. Items of earlier builds hold a map: read as is.
 */
const toStored = (item: NotificationItem): Record<string, unknown> => ({ ...item, claims: JSON.stringify(item.claims) });
function fromStored(raw: Record<string, unknown>): NotificationItem;
function fromStored(raw: Record<string, unknown> | undefined): NotificationItem | undefined;
function fromStored(raw: Record<string, unknown> | undefined): NotificationItem | undefined {
  if (raw === undefined) return undefined;
  return { ...raw, claims: typeof raw.claims === 'string' ? JSON.parse(raw.claims) : raw.claims } as NotificationItem;
}

const NOTIFICATION_ABSENT = 'attribute_not_exists(#sk)';
const NOTIFICATION_EXISTS = 'attribute_exists(#sk)';
const VERSION_MATCHES = '#version = :expectedVersion';

/** The NotificationStore on the setpoll table (items `P#<providerId>` / `N#<notificationId>`). */
export class DynamoNotificationStore extends TableAdapter implements NotificationStore {
  async read(providerId: string, notificationId: string): Promise<NotificationItem | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: providerPk(providerId), sk: notificationSk(notificationId) }, ConsistentRead: true }),
    );
    return fromStored(out.Item);
  }

  async list(providerId: string, page: { limit: number; cursor?: string | undefined }): Promise<ListPage<NotificationItem>> {
    const found = await listPage<Record<string, unknown> & { sk: string }>(this.client, this.table, { pk: providerPk(providerId), prefix: NOTIFICATION_PREFIX, ...page, consistent: false });
    return { ...found, items: found.items.map((item) => fromStored(item)) };
  }

  async create(providerId: string, fields: NewNotification): Promise<NotificationItem> {
    const item: NotificationItem = { pk: providerPk(providerId), sk: notificationSk(fields.notificationId), ...fields };
    try {
      await this.client.send(
        new PutCommand({ TableName: this.table, Item: toStored(item), ConditionExpression: NOTIFICATION_ABSENT, ExpressionAttributeNames: { '#sk': 'sk' } }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ItemExists(`A notification ${item.notificationId} exists`, { cause: error });
      throw error;
    }
    return item;
  }

  async replace(next: NotificationItem, readVersion: number): Promise<void> {
    await this.#ifVersion(next.notificationId, () =>
      this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: toStored(next),
          ConditionExpression: `${NOTIFICATION_EXISTS} AND ${VERSION_MATCHES}`,
          ExpressionAttributeNames: { '#sk': 'sk', '#version': 'version' },
          ExpressionAttributeValues: { ':expectedVersion': readVersion },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
  }

  async withdraw(item: NotificationItem, at: string): Promise<NotificationItem> {
    const out = await this.#ifVersion(item.notificationId, () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression:
            'SET #state = :withdrawn, #sweeping = :true, #withdrawnSets = :zero, #step = #step + :one, #version = #version + :one, #updatedAt = :now REMOVE #cursor, #sweepCursor',
          ConditionExpression: `${NOTIFICATION_EXISTS} AND ${VERSION_MATCHES}`,
          ExpressionAttributeNames: {
            '#sk': 'sk',
            '#state': 'state',
            '#sweeping': 'sweeping',
            '#withdrawnSets': 'withdrawnSets',
            '#step': 'step',
            '#version': 'version',
            '#updatedAt': 'updatedAt',
            '#cursor': 'cursor',
            '#sweepCursor': 'sweepCursor',
          },
          ExpressionAttributeValues: { ':withdrawn': 'withdrawn', ':true': true, ':zero': 0, ':one': 1, ':now': at, ':expectedVersion': item.version },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    return fromStored(out.Attributes as Record<string, unknown>);
  }

  async saveProgress(item: NotificationItem, change: ProgressChange, at: string): Promise<NotificationItem | undefined> {
    const names: Record<string, string> = { '#version': 'version', '#step': 'step', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':version': item.version, ':step': item.step, ':one': 1, ':now': at };
    const sets = ['#step = #step + :one', '#updatedAt = :now'];
    for (const [name, value] of Object.entries(change.set)) {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    for (const [name, value] of Object.entries(change.add)) {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = if_not_exists(#${name}, :zero) + :${name}`);
      values[':zero'] = 0;
    }
    for (const name of change.remove) names[`#${name}`] = name;
    const noReplaceOrWithdraw = '#version = :version';
    const noOtherContinuation = '#step = :step';
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: `SET ${sets.join(', ')}${change.remove.length > 0 ? ` REMOVE ${change.remove.map((n) => `#${n}`).join(', ')}` : ''}`,
          ConditionExpression: `${noReplaceOrWithdraw} AND ${noOtherContinuation}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromStored(out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Runs a write conditional on the version read; its failure is ItemMissing (gone) or VersionConflict (changed). */
  async #ifVersion<T>(notificationId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) throw new ItemMissing(`No notification ${notificationId}`, { cause: error });
      const current = Number(error.Item.version?.N);
      throw new VersionConflict(`The notification ${notificationId} is at version ${current}`, current, { cause: error });
    }
  }
}
