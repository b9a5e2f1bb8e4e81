import { beforeAll, describe, expect, it } from 'vitest';
import { ClientAuthenticator, type CertificateLookup } from '../../lambdas/core/client-authenticator.ts';
import type { CertificateStatus } from '../../lambdas/store/recipient-registry.ts';
import { createCertificateAuthority, fingerprintOfPem, issueClientCertificate } from '../../local/pki.ts';

/** The registry's answers, settable, with every lookup counted (what each request would cost in reads). */
class CountingRegistry implements CertificateLookup {
  readonly statuses = new Map<string, CertificateStatus>();
  lookups = 0;
  async lookup(fingerprint: string): Promise<CertificateStatus> {
    this.lookups++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.statuses.get(fingerprint) ?? { revoked: false };
  }
}

const ACCESS_DENIED = { statusCode: 403, code: 'access_denied', message: 'The client certificate is not registered' };

describe('ClientAuthenticator', () => {
  let pems: string[];
  beforeAll(async () => {
    const ca = await createCertificateAuthority('test CA');
    pems = await Promise.all(['a', 'b', 'c'].map(async (id) => (await issueClientCertificate(ca, `tpp-${id}`)).certPem));
  });

  const setup = (options: { cacheSeconds?: number; refusedCacheSeconds?: number } = {}) => {
    const clock = { now: 1_000_000 };
    const registry = new CountingRegistry();
    const authenticator = new ClientAuthenticator({ registry, realm: 'r', now: () => clock.now, ...options });
    return { clock, registry, authenticator };
  };

  describe('authenticate (refused certificates)', () => {
    it('answers a flood from an unregistered certificate with one registry read per 5 s, concurrent requests included', async () => {
      // Prepare
      const { clock, registry, authenticator } = setup();
      // Act
      const flood = await Promise.all(Array.from({ length: 50 }, () => authenticator.authenticate(pems[0]).catch((e: unknown) => e)));
      const after = await authenticator.authenticate(pems[0]).catch((e: unknown) => e);
      const readsWithin = registry.lookups;
      clock.now += 5000;
      await authenticator.authenticate(pems[0]).catch(() => undefined);
      // Assess
      expect(flood.every((e) => (expect(e).toMatchObject(ACCESS_DENIED), true))).toBe(true);
      expect(after).toMatchObject(ACCESS_DENIED);
      expect(readsWithin).toBe(1);
      expect(registry.lookups).toBe(2);
    });

    it('caches a revoked certificate as briefly, and lets a certificate registered after a refusal in once the refusal expires', async () => {
      // Prepare
      const { clock, registry, authenticator } = setup();
      const revoked = fingerprintOfPem(pems[1]!);
      registry.statuses.set(revoked, { clientId: 'tpp-b', revoked: true });
      await authenticator.authenticate(pems[1]).catch(() => undefined);
      await authenticator.authenticate(pems[2]).catch(() => undefined);
      // Act
      registry.statuses.set(revoked, { clientId: 'tpp-b', revoked: false });
      registry.statuses.set(fingerprintOfPem(pems[2]!), { clientId: 'tpp-c', revoked: false });
      const stillRefused = await authenticator.authenticate(pems[1]).catch((e: unknown) => e);
      clock.now += 4999;
      const justBefore = await authenticator.authenticate(pems[2]).catch((e: unknown) => e);
      clock.now += 1;
      const unrevoked = await authenticator.authenticate(pems[1]);
      const registered = await authenticator.authenticate(pems[2]);
      // Assess
      expect(stillRefused).toMatchObject(ACCESS_DENIED);
      expect(justBefore).toMatchObject(ACCESS_DENIED);
      expect([unrevoked.clientId, registered.clientId]).toEqual(['tpp-b', 'tpp-c']);
      expect(registry.lookups).toBe(4);
    });

    it('caches no refusal when the identity cache is off, and honours an explicit refusedCacheSeconds', async () => {
      // Prepare
      const off = setup({ cacheSeconds: 0 });
      const longer = setup({ refusedCacheSeconds: 20 });
      // Act
      for (let i = 0; i < 3; i++) await off.authenticator.authenticate(pems[0]).catch(() => undefined);
      await longer.authenticator.authenticate(pems[0]).catch(() => undefined);
      longer.clock.now += 19_999;
      await longer.authenticator.authenticate(pems[0]).catch(() => undefined);
      // Assess
      expect(off.registry.lookups).toBe(3);
      expect(longer.registry.lookups).toBe(1);
    });

    it('shares one read among concurrent requests with a registered certificate too', async () => {
      // Prepare
      const { registry, authenticator } = setup();
      registry.statuses.set(fingerprintOfPem(pems[0]!), { clientId: 'tpp-a', revoked: false });
      // Act
      const clients = await Promise.all(Array.from({ length: 20 }, () => authenticator.authenticate(pems[0])));
      // Assess
      expect(new Set(clients.map((c) => c.clientId))).toEqual(new Set(['tpp-a']));
      expect(registry.lookups).toBe(1);
    });
  });
});
