import { describe, expect, it } from 'vitest';
import { InvalidClientId } from '../../lambdas/shared/client-id.ts';
import { RecipientCertificates, RotationRefused } from '../../lambdas/store/queue-admin-certificates.ts';
import { createTestTable } from '../support/dynamo.ts';

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);

describe('RecipientCertificates', () => {
  describe('swap', () => {
    it('refuses a certificate revoked after the caller checked it, and keeps the working one', async () => {
      // Prepare: tpp-alpha uses OLD; NEW is revoked between the rotate command's check and its swap.
      const { client, tableName, registry } = await createTestTable();
      await registry.register('tpp-alpha', OLD);
      await registry.revoke(NEW, 'compromised');
      const certificates = new RecipientCertificates({ client, tableName });
      // Act
      const refused = await certificates.swap('tpp-alpha', NEW, OLD).catch((e: unknown) => e);
      // Assess
      expect(refused).toBeInstanceOf(RotationRefused);
      expect((refused as Error).message).toBe(`Certificate ${NEW} is revoked`);
      expect(await registry.lookup(OLD)).toEqual({ clientId: 'tpp-alpha', revoked: false });
      expect(await registry.lookup(NEW)).toEqual({ revoked: true });
    });

    it('moves the recipient from the old certificate to the new one in one step', async () => {
      const { client, tableName, registry } = await createTestTable();
      await registry.register('tpp-alpha', OLD);
      await new RecipientCertificates({ client, tableName }).swap('tpp-alpha', NEW, OLD);
      expect([await registry.lookup(OLD), await registry.lookup(NEW)]).toEqual([{ revoked: false }, { clientId: 'tpp-alpha', revoked: false }]);
    });
  });

  describe('client ids', () => {
    it('refuses to register or rotate a certificate to an id that breaks the client-id rule, and writes nothing', async () => {
      // Prepare
      const { client, tableName, registry } = await createTestTable();
      await registry.register('tpp-alpha', OLD);
      // Act
      const registered = await registry.register('prov#1#x', NEW).catch((e: unknown) => e);
      const swapped = await new RecipientCertificates({ client, tableName }).swap('tpp alpha', NEW, OLD).catch((e: unknown) => e);
      // Assess
      expect(registered).toBeInstanceOf(InvalidClientId);
      expect((registered as Error).message).toBe('Client id "prov#1#x" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."');
      expect(swapped).toBeInstanceOf(InvalidClientId);
      expect([await registry.lookup(NEW), await registry.lookup(OLD)]).toEqual([{ revoked: false }, { clientId: 'tpp-alpha', revoked: false }]);
      expect(await registry.list('prov#1#x')).toEqual([]);
    });
  });
});
