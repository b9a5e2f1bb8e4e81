/**
 * Operators' view and rotation of recipients' certificates (`setpoll recipients list|show|rotate`),
 * beside RecipientRegistry (which the poll path uses and which this module does not change).
 */
import { InvalidClientId, isClientId } from '../shared/client-id.ts';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { certificateItems, listingKey, listingQuery, registrationKey, revocationKey, toRegisteredCertificate, unregistration, type CertificateFacts, type RegisteredCertificate } from './certificate-items.ts';
import { CERT_SK, CLIENT_CERT_PREFIX, REVOKED_SK, certPk, clientPk } from './schema.ts';
import { TableAdapter } from './table-adapter.ts';
import { codedStorageError } from './store-errors.ts';

export type CertificateState =
  /** Registered to this recipient and not revoked: it identifies the recipient. */
  | 'active'
  /** Registered to this recipient, but on the deny list. */
  | 'revoked'
  /** Listed under the recipient, but the certificate item is missing or names another recipient. */
  | 'unregistered';

export interface CertificateDetail extends RegisteredCertificate {
  readonly state: CertificateState;
  readonly revokedAt?: number;
  readonly reason?: string;
  /** For `unregistered`: the recipient the certificate item names, if any. */
  readonly owner?: string;
}

/** One recipient and its certificates, as `recipients list` shows every recipient. */
export interface RecipientListing {
  readonly clientId: string;
  readonly certificates: readonly (RegisteredCertificate & { readonly revoked: boolean })[];
}

export class RotationRefused extends codedStorageError('RotationRefused', 'rotation_refused') {}

export class RecipientCertificates extends TableAdapter {
  /** Every certificate listed under the recipient, with its registration and revocation. */
  async describe(clientId: string): Promise<CertificateDetail[]> {
    const listed: RegisteredCertificate[] = [];
    const pages = paginateQuery({ client: this.client }, { ...listingQuery(this.table, clientId), ConsistentRead: true });
    for await (const out of pages) for (const item of out.Items ?? []) listed.push(toRegisteredCertificate(item));
    return Promise.all(
      listed.map(async (listing): Promise<CertificateDetail> => {
        const { fingerprint } = listing;
        const items = await certificateItems(this.client, this.table, fingerprint);
        const registration = items.find((i) => i.sk === CERT_SK);
        const revocation = items.find((i) => i.sk === REVOKED_SK);
        const owner = registration === undefined ? undefined : String(registration.clientId);
        const revoked = revocation === undefined ? {} : { revokedAt: Number(revocation.at), ...(revocation.reason ? { reason: String(revocation.reason) } : {}) };
        if (owner !== clientId) return { ...listing, state: 'unregistered', ...(owner === undefined ? {} : { owner }), ...revoked };
        return { ...listing, state: revocation ? 'revoked' : 'active', ...revoked };
      }),
    );
  }

  /**
   * Every recipient with a registered certificate, and its certificates: the table has no index
   * (schema.ts), so this scans it whole, page by page; DynamoDB bills reading every item, queued
   * SETs included. Revocations come from the same scan. `readUnits` is what the scan consumed.
   */
  async listAll(): Promise<{ recipients: RecipientListing[]; readUnits: number }> {
    const byRecipient = new Map<string, (RegisteredCertificate & { revoked: boolean })[]>();
    const revoked = new Set<string>();
    let readUnits = 0;
    const pages = paginateScan(
      { client: this.client },
      {
        TableName: this.table,
        FilterExpression: 'begins_with(#pk, :client) OR (begins_with(#pk, :cert) AND #sk = :revoked)',
        ProjectionExpression: '#pk, #sk, #at, #subject, #notAfter',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#at': 'at', '#subject': 'subject', '#notAfter': 'notAfter' },
        ExpressionAttributeValues: { ':client': clientPk(''), ':cert': certPk(''), ':revoked': REVOKED_SK },
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
      },
    );
    for await (const page of pages) {
      readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      for (const item of page.Items ?? []) {
        const pk = String(item.pk);
        const sk = String(item.sk);
        if (sk === REVOKED_SK) revoked.add(pk.slice(certPk('').length));
        else if (sk.startsWith(CLIENT_CERT_PREFIX)) {
          const clientId = pk.slice(clientPk('').length);
          const certificates = byRecipient.get(clientId) ?? [];
          certificates.push({ ...toRegisteredCertificate(item, sk), revoked: false });
          byRecipient.set(clientId, certificates);
        }
      }
    }
    const recipients = [...byRecipient.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([clientId, certificates]) => ({
        clientId,
        certificates: certificates.map((c) => ({ ...c, revoked: revoked.has(c.fingerprint) })).sort((a, b) => a.addedAt - b.addedAt),
      }));
    return { recipients, readUnits };
  }

  /**
   * In one transaction: registers `newFingerprint` to the recipient (kept as is when it is already
   * theirs) and unregisters `oldFingerprint`, which must be theirs. Either both happen or neither.
   */
  async swap(clientId: string, newFingerprint: string, oldFingerprint: string, now = Date.now(), facts?: CertificateFacts): Promise<void> {
    if (!isClientId(clientId)) throw new InvalidClientId(clientId);
    try {
      await this.transact([
        {
          Update: {
            TableName: this.table,
            Key: registrationKey(newFingerprint),
            UpdateExpression: 'SET clientId = :c, #at = if_not_exists(#at, :now)',
            ConditionExpression: 'attribute_not_exists(sk) OR clientId = :c',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':c': clientId, ':now': now },
          },
        },
        {
          Update: {
            TableName: this.table,
            Key: listingKey(clientId, newFingerprint),
            UpdateExpression: `SET #at = if_not_exists(#at, :now)${facts === undefined ? '' : ', subject = :s, notAfter = :n'}`,
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':now': now, ...(facts === undefined ? {} : { ':s': facts.subject, ':n': facts.notAfter }) },
          },
        },
        ...unregistration(this.table, clientId, oldFingerprint),
        // The caller checked the new certificate is not revoked; a revocation since then must
        // not cost the recipient its working certificate.
        { ConditionCheck: { TableName: this.table, Key: revocationKey(newFingerprint), ConditionExpression: 'attribute_not_exists(sk)' } },
      ]);
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const [registration, , removal, , revocation] = error.CancellationReasons ?? [];
        if (registration?.Code === 'ConditionalCheckFailed') throw new RotationRefused(`Certificate ${newFingerprint} is registered to another recipient`);
        if (revocation?.Code === 'ConditionalCheckFailed') throw new RotationRefused(`Certificate ${newFingerprint} is revoked`);
        if (removal?.Code === 'ConditionalCheckFailed') throw new RotationRefused(`${oldFingerprint} is not registered to ${clientId}`);
      }
      throw error;
    }
  }
}
