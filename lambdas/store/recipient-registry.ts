import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidClientId, isClientId } from '../shared/client-id.ts';
import { certificateItems, listingKey, listingQuery, registrationKey, revocationKey, toRegisteredCertificate, unregistration, type CertificateFacts, type RegisteredCertificate } from './certificate-items.ts';
import { CERT_SK, REVOKED_SK } from './schema.ts';
import { TableAdapter } from './table-adapter.ts';
import { codedStorageError } from './store-errors.ts';

/** What the table says about one certificate fingerprint. */
export interface CertificateStatus {
  /** The recipient the certificate is registered to, if any. */
  readonly clientId?: string;
  readonly revoked: boolean;
}

export type { CertificateFacts, RegisteredCertificate } from './certificate-items.ts';

export class CertificateInUse extends codedStorageError('CertificateInUse', 'certificate_in_use') {
  constructor(fingerprint: string, owner: string) {
    super(`Certificate ${fingerprint} is already registered to ${owner}`);
  }
}

/**
 * Recipients and their certificates. A certificate maps to exactly one recipient; a recipient may
 * hold several certificates at once, which is how rotation works (add the new, then remove the old).
 */
export class RecipientRegistry extends TableAdapter {
  /** One query reads both the registration and any revocation of a fingerprint. */
  async lookup(fingerprint: string): Promise<CertificateStatus> {
    let clientId: string | undefined;
    let revoked = false;
    for (const item of await certificateItems(this.client, this.table, fingerprint)) {
      if (item.sk === CERT_SK) clientId = String(item.clientId);
      if (item.sk === REVOKED_SK) revoked = true;
    }
    return clientId === undefined ? { revoked } : { clientId, revoked };
  }

  /**
   * `facts` (from the PEM, when the operator gave one) are kept on the recipient's certificate item;
   * registering an already registered certificate again with them fills them in.
   */
  async register(clientId: string, fingerprint: string, now = Date.now(), facts?: CertificateFacts): Promise<'registered' | 'unchanged'> {
    if (!isClientId(clientId)) throw new InvalidClientId(clientId);
    const kept = facts === undefined ? {} : { subject: facts.subject, notAfter: facts.notAfter };
    try {
      await this.transact([
        { Put: { TableName: this.table, Item: { ...registrationKey(fingerprint), clientId, at: now }, ConditionExpression: 'attribute_not_exists(sk)' } },
        { Put: { TableName: this.table, Item: { ...listingKey(clientId, fingerprint), at: now, ...kept } } },
      ]);
      return 'registered';
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        const current = await this.lookup(fingerprint);
        if (current.clientId === clientId) {
          if (facts !== undefined) await this.#keepFacts(clientId, fingerprint, facts);
          return 'unchanged';
        }
        throw new CertificateInUse(fingerprint, current.clientId ?? 'another recipient');
      }
      throw error;
    }
  }

  /** Only onto an existing item: a registration removed meanwhile is not brought back. */
  async #keepFacts(clientId: string, fingerprint: string, facts: CertificateFacts): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: listingKey(clientId, fingerprint),
          UpdateExpression: 'SET subject = :s, notAfter = :n',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeValues: { ':s': facts.subject, ':n': facts.notAfter },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async remove(clientId: string, fingerprint: string): Promise<boolean> {
    try {
      await this.transact(unregistration(this.table, clientId, fingerprint));
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return false;
      throw error;
    }
  }

  async list(clientId: string): Promise<RegisteredCertificate[]> {
    const out = await this.client.send(new QueryCommand(listingQuery(this.table, clientId)));
    return (out.Items ?? []).map((item) => toRegisteredCertificate(item));
  }

  /** Adds a fingerprint to the deny list. Takes effect once the handlers' identity cache expires. */
  async revoke(fingerprint: string, reason?: string, now = Date.now()): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...revocationKey(fingerprint), at: now, ...(reason ? { reason } : {}) },
      }),
    );
  }

  async unrevoke(fingerprint: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.table, Key: revocationKey(fingerprint) }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
