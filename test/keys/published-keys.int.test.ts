import { describe, expect, it } from 'vitest';
import { KeySetAdmin, PublishedKeys } from '../../lambdas/keys/published-keys.ts';
import { validatePublicJwk } from '../../lambdas/keys/public-jwk.ts';
import { generateSigningJwk, publicJwk } from '../../lambdas/producer/signer.ts';
import { DynamoKeySetStore } from '../../lambdas/store/dynamo-key-set-store.ts';
import { KeyAlreadyPublished } from '../../lambdas/store/key-set-store.ts';
import { createTestTable } from '../support/dynamo.ts';

const T0 = Math.floor(Date.now() / 1000) * 1000;

async function setup(now = () => T0) {
  const { client, tableName } = await createTestTable();
  const store = new DynamoKeySetStore({ client, tableName });
  const current = publicJwk(await generateSigningJwk('ES256'));
  return { store, current, admin: new KeySetAdmin({ store, now }), keys: (at: number) => new PublishedKeys({ store, current: async () => [current], cacheMs: 0, now: () => at }).keys() };
}

describe('validatePublicJwk', () => {
  it('keeps only the public members, alg, kid and use', async () => {
    const jwk = { ...publicJwk(await generateSigningJwk('PS256')), x5c: ['junk'], ext: true, key_ops: ['verify'] };
    const out = await validatePublicJwk(jwk);
    expect(out).toEqual({ kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'PS256', kid: jwk.kid, use: 'sig' });
  });

  it.each([
    ['a private key', async () => generateSigningJwk('ES256'), 'The key holds private material ("d"): publish the public key only'],
    ['a symmetric key', async () => ({ kty: 'oct', k: 'AAAA', alg: 'HS256', kid: 'x' }), 'The key holds private material ("k"): publish the public key only'],
    ['an unsupported alg', async () => ({ ...publicJwk(await generateSigningJwk('ES256')), alg: 'ES384' }), "The key's alg must be one of PS256, RS256, ES256"],
    ['no kid', async () => ({ ...publicJwk(await generateSigningJwk('ES256')), kid: undefined }), 'The key needs a kid of 1 to 128 printable ASCII characters'],
    ['an RSA key for ES256', async () => ({ ...publicJwk(await generateSigningJwk('PS256')), alg: 'ES256' }), 'An ES256 key must be an EC key on P-256'],
    ['an EC key for PS256', async () => ({ ...publicJwk(await generateSigningJwk('ES256')), alg: 'PS256' }), 'A PS256 key must be an RSA key'],
    ['use enc', async () => ({ ...publicJwk(await generateSigningJwk('ES256')), use: 'enc' }), 'The key\'s use must be "sig"'],
    ['a broken point', async () => ({ ...publicJwk(await generateSigningJwk('ES256')), x: 'AAAA' }), /^The key is not a usable ES256 public key/],
    ['not an object', async () => 'key', 'The key must be a JWK object'],
  ])('refuses %s', async (_name, make, message) => {
    await expect(validatePublicJwk(await make())).rejects.toThrow(message instanceof RegExp ? message : new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });
});

describe('PublishedKeys', () => {
  it('serves the current key first, then producer keys and previous keys still in their window', async () => {
    const { admin, current, keys } = await setup();
    const producer = publicJwk(await generateSigningJwk('ES256'));
    const previous = publicJwk(await generateSigningJwk('PS256'));
    await admin.registerProducerKey(producer, 'team-x');
    // Windows of an hour: DynamoDB Local's TTL sweeper deletes items whose ttl is in the real past.
    await admin.retainPreviousKey(previous, 3600);

    expect((await keys(T0)).map((k) => k.kid)).toEqual([current.kid, ...[producer.kid, previous.kid].sort()]);
    expect((await keys(T0 + 3_599_000)).map((k) => k.kid)).toContain(previous.kid);
    // Past its window the previous key is gone, even before DynamoDB's TTL deletes the item.
    expect((await keys(T0 + 3_600_000)).map((k) => k.kid)).toEqual([current.kid, producer.kid]);
  });

  it('lists the current key once when it is also stored as previous (between the rotate step and the deploy)', async () => {
    const { admin, current, keys } = await setup();
    await admin.retainPreviousKey(current, 3600);
    expect(await keys(T0)).toEqual([current]);
  });

  it('retire keeps a key for the given time; remove drops it at once; unknown kids are reported', async () => {
    const { admin, current, keys } = await setup();
    const producer = publicJwk(await generateSigningJwk('ES256'));
    await admin.registerProducerKey(producer);
    // It answers the second it stored, from its own clock (T0), not a second reading of one.
    expect(await admin.retire(producer.kid!, 3600)).toBe(Math.ceil(T0 / 1000) + 3600);
    expect((await keys(T0 + 3_599_000)).map((k) => k.kid)).toEqual([current.kid, producer.kid]);
    expect((await keys(T0 + 3_600_000)).map((k) => k.kid)).toEqual([current.kid]);
    expect(await admin.retire(producer.kid!, 0)).toBe(Math.ceil(T0 / 1000));
    expect(await admin.retire(producer.kid!, 0)).toBeUndefined();
    expect(await admin.retire('nope', 10)).toBeUndefined();
  });

  it('refuses a second key with the same kid', async () => {
    const { admin } = await setup();
    const producer = publicJwk(await generateSigningJwk('ES256'));
    await admin.registerProducerKey(producer);
    await expect(admin.registerProducerKey(producer)).rejects.toThrow(KeyAlreadyPublished);
  });

  it('reuses a read for cacheMs and reads again after', async () => {
    const { store, current, admin } = await setup();
    let now = T0;
    const cached = new PublishedKeys({ store, current: async () => [current], cacheMs: 1000, now: () => now });
    expect(await cached.keys()).toEqual([current]);
    const producer = publicJwk(await generateSigningJwk('ES256'));
    await admin.registerProducerKey(producer);
    now += 999;
    expect(await cached.keys()).toEqual([current]);
    now += 1;
    expect((await cached.keys()).map((k) => k.kid)).toEqual([current.kid, producer.kid]);
  });
});
