import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { JwkSigner, loadOrCreateSigningJwk, publicJwk, type SetAlgorithm } from '../../lambdas/producer/signer.ts';
import { Publisher } from '../../lambdas/producer/publish.ts';
import { createTestTable } from '../support/dynamo.ts';

const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };

async function setup(alg: SetAlgorithm = 'PS256') {
  const table = await createTestTable();
  const jwk = await loadOrCreateSigningJwk(join(mkdtempSync(join(tmpdir(), 'setpoll-key-')), 'key.json'), alg);
  const signer = await JwkSigner.fromJwk(jwk);
  const publisher = new Publisher({ store: table.store, signer, issuer: 'https://issuer.example', now: () => 1_790_000_000_000 });
  return { ...table, jwk, publisher, jwks: createLocalJWKSet({ keys: [publicJwk(jwk)] }) };
}

describe('Publisher', () => {
  describe('publish', () => {
    it.each(['PS256', 'ES256', 'RS256'] as const)('signs a SET with %s and typ secevent+jwt that verifies against the JWKS', async (alg) => {
      // Prepare
      const { publisher, jwks, store, jwk } = await setup(alg);
      // Act
      const out = await publisher.publish({ recipients: ['alpha'], events: EVENT, jti: 'j-1', sub: 'user-1', txn: 't-1', toe: 1_789_999_999 });
      // Assess
      expect(decodeProtectedHeader(out.set)).toEqual({ alg, kid: jwk.kid, typ: 'secevent+jwt' });
      const { payload } = await jwtVerify(out.set, jwks, { issuer: 'https://issuer.example', audience: 'alpha', typ: 'secevent+jwt', currentDate: new Date(1_790_000_000_000) });
      expect(payload).toEqual({ iss: 'https://issuer.example', iat: 1_790_000_000, jti: 'j-1', aud: 'alpha', events: EVENT, sub: 'user-1', txn: 't-1', toe: 1_789_999_999 });
      const page = await store.readQueue('alpha', 10);
      expect(page.items).toEqual([{ jti: 'j-1', iat: 1_790_000_000, set: out.set, ttl: 1_790_000_000 + 7 * 86_400, attempts: 0 }]);
    });

    it('is idempotent: publishing the same SET again reports duplicate and queues nothing new', async () => {
      const { publisher, store } = await setup('ES256');
      const first = await publisher.publish({ recipients: ['alpha', 'beta'], events: EVENT, jti: 'same' });
      const second = await publisher.publish({ recipients: ['alpha', 'beta'], events: EVENT, jti: 'same' });
      expect([...first.outcomes]).toEqual(expect.arrayContaining([['alpha', 'queued'], ['beta', 'queued']]));
      expect([...second.outcomes]).toEqual(expect.arrayContaining([['alpha', 'duplicate'], ['beta', 'duplicate']]));
      expect((await store.readQueue('alpha', 10)).items).toHaveLength(1);
      expect((await store.readQueue('beta', 10)).items).toHaveLength(1);
    });

    it('rejects programmer misuse with TypeError', async () => {
      const { publisher } = await setup('ES256');
      await expect(publisher.publish({ recipients: [], events: EVENT })).rejects.toThrow(TypeError);
      await expect(publisher.publish({ recipients: ['a'], events: {} })).rejects.toThrow(TypeError);
      await expect(publisher.publish({ recipients: ['a'], events: EVENT, jti: 'x'.repeat(129) })).rejects.toThrow(TypeError);
      await expect(publisher.publish({ recipients: ['a'], events: EVENT, ttlSeconds: 0 })).rejects.toThrow(TypeError);
    });
  });
});
