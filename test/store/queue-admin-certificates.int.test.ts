import { describe, expect, it } from 'vitest';
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
});
