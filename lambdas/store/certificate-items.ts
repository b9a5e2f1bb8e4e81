/**
 * A recipient's certificate is two items: the certificate's own (`CERT#<sha256>` / `CERT`, naming
 * the recipient it identifies, beside any revocation `CERT#<sha256>` / `REVOKED`) and the
 * recipient's listing of it (`CLIENT#<id>` / `CERT#<sha256>`, with the facts read off the PEM).
 * Their keys, reads and the unregistering writes, shared by RecipientRegistry (the poll path's
 * lookup and the plain operations) and RecipientCertificates (the operators' view and rotation).
 */
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { CERT_SK, CLIENT_CERT_PREFIX, REVOKED_SK, certPk, clientCertSk, clientPk } from './schema.ts';
import type { TransactWriteItem } from './table-adapter.ts';

/** What an operator reads off a certificate at registration, kept beside its fingerprint. */
export interface CertificateFacts {
  /** The subject DN as node:crypto prints it, one RDN a line joined with ", " (e.g. `CN=tpp-alpha, O=TPP`). */
  readonly subject: string;
  /** The end of its validity, epoch ms. */
  readonly notAfter: number;
}

export interface RegisteredCertificate {
  readonly fingerprint: string;
  readonly addedAt: number;
  /** Absent for certificates registered by fingerprint, or before the facts were kept. */
  readonly facts?: CertificateFacts;
}

/** The certificate's own item: which recipient it identifies. */
export const registrationKey = (fingerprint: string) => ({ pk: certPk(fingerprint), sk: CERT_SK });

/** The certificate's deny-list entry. */
export const revocationKey = (fingerprint: string) => ({ pk: certPk(fingerprint), sk: REVOKED_SK });

/** The recipient's item listing the certificate. */
export const listingKey = (clientId: string, fingerprint: string) => ({ pk: clientPk(clientId), sk: clientCertSk(fingerprint) });

/** The facts stored on a listing item, when it has both. */
function factsOf(item: Record<string, unknown>): { facts: CertificateFacts } | Record<string, never> {
  return typeof item.subject === 'string' && typeof item.notAfter === 'number' ? { facts: { subject: item.subject, notAfter: item.notAfter } } : {};
}

/** A listing item as the certificate it lists; `sk` is the listing's sort key (`CERT#<sha256>`). */
export const toRegisteredCertificate = (item: Record<string, unknown>, sk = String(item.sk)): RegisteredCertificate => ({
  fingerprint: sk.slice(CLIENT_CERT_PREFIX.length),
  addedAt: Number(item.at),
  ...factsOf(item),
});

/** The Query of every certificate a recipient lists. */
export const listingQuery = (table: string, clientId: string): QueryCommandInput => ({
  TableName: table,
  KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
  ExpressionAttributeValues: { ':pk': clientPk(clientId), ':p': CLIENT_CERT_PREFIX },
});

/** The certificate's own items (registration, revocation), strongly consistent, in one Query. */
export async function certificateItems(client: DynamoDBDocumentClient, table: string, fingerprint: string): Promise<Record<string, unknown>[]> {
  const out = await client.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': certPk(fingerprint) }, ConsistentRead: true }),
  );
  return out.Items ?? [];
}

/**
 * The transaction items that unregister `fingerprint` from `clientId`: the certificate's item goes
 * only while it names that recipient (else the transaction is cancelled at this first item), and the
 * recipient's listing with it.
 */
export function unregistration(table: string, clientId: string, fingerprint: string): TransactWriteItem[] {
  return [
    { Delete: { TableName: table, Key: registrationKey(fingerprint), ConditionExpression: 'clientId = :c', ExpressionAttributeValues: { ':c': clientId } } },
    { Delete: { TableName: table, Key: listingKey(clientId, fingerprint) } },
  ];
}
