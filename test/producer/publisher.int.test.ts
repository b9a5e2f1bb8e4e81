import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { JwkSigner, loadOrCreateSigningJwk, publicJwk, type SetAlgorithm } from '../../lambdas/producer/signer.ts';
import { Publisher } from '../../lambdas/producer/publish.ts';
import { createTestTable } from '../support/dynamo.ts';

/** Near the real time: DynamoDB Local's TTL sweeper may delete items whose `ttl` is in the real past. */
const T0 = Math.floor(Date.now() / 1000) * 1000;
const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };

async function setup(alg: SetAlgorithm = 'PS256') {
  const table = await createTestTable();
  const jwk = await loadOrCreateSigningJwk(join(mkdtempSync(join(tmpdir(), 'setpoll-key-')), 'key.json'), alg);
  const signer = await JwkSigner.fromJwk(jwk);
  const publisher = new Publisher({ store: table.store, signer, issuer: 'https://issuer.example', now: () => T0 });
  return { ...table, jwk, publisher, jwks: createLocalJWKSet({ keys: [publicJwk(jwk)] }) };
}

describe('Publisher', () => {
  describe('publish', () => {
    it.each(['PS256', 'ES256', 'RS256'] as const)('signs a SET with %s and typ secevent+jwt that verifies against the JWKS', async (alg) => {
      // Prepare
      const { publisher, jwks, store, jwk } = await setup(alg);
      // Act
      const out = await publisher.publish({ recipients: ['alpha'], events: EVENT, jti: 'j-1', sub: 'user-1', txn: 't-1', toe: T0 / 1000 - 1 });
      // Assess
      expect(decodeProtectedHeader(out.set)).toEqual({ alg, kid: jwk.kid, typ: 'secevent+jwt' });
      const { payload } = await jwtVerify(out.set, jwks, { issuer: 'https://issuer.example', audience: 'alpha', typ: 'secevent+jwt', currentDate: new Date(T0) });
      expect(payload).toEqual({ iss: 'https://issuer.example', iat: T0 / 1000, jti: 'j-1', aud: 'alpha', events: EVENT, sub: 'user-1', txn: 't-1', toe: T0 / 1000 - 1 });
      const page = await store.readQueue('alpha', 10);
      expect(page.items).toEqual([{ jti: 'j-1', set: out.set, ttl: T0 / 1000 + 7 * 86_400, attempts: 0 }]);
    });

    it('is idempotent on the jti: publishing it again, even later, reports duplicate and keeps the first SET', async () => {
      const { publisher, store, jwk } = await setup('ES256');
      const later = new Publisher({ store, signer: await JwkSigner.fromJwk(jwk), issuer: 'https://issuer.example', now: () => T0 + 60_000 });
      const first = await publisher.publish({ recipients: ['alpha', 'beta'], events: EVENT, jti: 'same' });
      const second = await later.publish({ recipients: ['alpha', 'beta'], events: EVENT, jti: 'same' });
      expect([...first.outcomes]).toEqual(expect.arrayContaining([['alpha', 'queued'], ['beta', 'queued']]));
      expect([...second.outcomes]).toEqual(expect.arrayContaining([['alpha', 'duplicate'], ['beta', 'duplicate']]));
      expect((await store.readQueue('alpha', 10)).items).toEqual([expect.objectContaining({ jti: 'same', set: first.set })]);
      expect((await store.readQueue('beta', 10)).items).toHaveLength(1);
    });

    it('makes time-ordered UUIDv7 jtis by default', async () => {
      const { store, jwk } = await setup('ES256');
      const signer = await JwkSigner.fromJwk(jwk);
      const at = (ms: number) => new Publisher({ store, signer, issuer: 'https://issuer.example', now: () => ms });
      const second = await at(T0 + 500).publish({ recipients: ['alpha'], events: EVENT });
      const first = await at(T0).publish({ recipients: ['alpha'], events: EVENT });
      expect(first.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await store.readQueue('alpha', 10)).items.map((i) => i.jti)).toEqual([first.jti, second.jti]);
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
