/**
 * The recipient library's one-call SSF setup against the local stack over real mTLS: discovery,
 * a new or an existing stream, verification, and a Recipient that polls the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsfStream, SsfSetupFailed, SSF_VERIFICATION_EVENT } from '../../recipient/index.ts';
import { SSF_PATHS } from '../../lambdas/ssf/vocabulary.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';


let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

const connect = async (clientId: string, eventsRequested: string[], state?: string) => {
  const receiver = await connectSsfStream({
    issuer: stack.config.issuer,
    tokenUrl: stack.config.tokenUrl,
    clientId,
    identity: stack.client(clientId),
    eventsRequested,
    ...(state === undefined ? {} : { state }),
  });
  stack.closeOnStop(receiver);
  return receiver;
};

describe('connectSsfStream', () => {
  it('discovers, creates the stream, verifies it, and answers a Recipient that polls it', async () => {
    // Act
    const receiver = await connect('tpp-alpha', [SESSION_REVOKED], 'state-1');
    const published = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: { [SESSION_REVOKED]: {} }, txn: 'txn-1' });
    const polled = await receiver.client.poll({ returnImmediately: true });
    // Assert
    expect(receiver.metadata).toMatchObject({ issuer: stack.config.issuer, jwks_uri: stack.config.jwksUrl, spec_version: '1_0' });
    expect(receiver.stream).toMatchObject({ events_delivered: [SESSION_REVOKED], delivery: { method: 'urn:ietf:rfc:8936', endpoint_url: stack.config.pollUrl } });
    expect(receiver.verification.claims).toMatchObject({
      iss: stack.config.issuer,
      aud: 'tpp-alpha',
      sub_id: { format: 'opaque', id: receiver.stream.stream_id },
      events: { [SSF_VERIFICATION_EVENT]: { state: 'state-1' } },
    });
    expect(receiver.verification.claims).not.toHaveProperty('sub');
    // The verification SET was acknowledged: only the published SET is delivered now.
    expect([...polled.sets.keys()]).toEqual([published.jti]);
    expect((await receiver.verifier.verify(published.jti, polled.sets.get(published.jti)!)).claims.events).toEqual({ [SESSION_REVOKED]: {} });
  });

  it("reuses the receiver's existing stream, bringing its requested events up to date", async () => {
    // Arrange: a stream created beforehand for another event type
    const token = await stack.token('tpp-beta', 'ssf.manage');
    const created = await httpsRequest(`${stack.server.origin}${SSF_PATHS.configuration}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: { events_requested: [CREDENTIAL_CHANGE] },
      ...stack.client('tpp-beta'),
    });
    // Act
    const receiver = await connect('tpp-beta', [SESSION_REVOKED]);
    // Assert
    expect(receiver.stream.stream_id).toBe(created.json<{ stream_id: string }>().stream_id);
    expect(receiver.stream.events_delivered).toEqual([SESSION_REVOKED]);
    expect(receiver.verification.claims.events).toEqual({ [SSF_VERIFICATION_EVENT]: { state: expect.any(String) } });
  });

  it('refuses a transmitter whose metadata is not at the issuer given', async () => {
    // Act
    const wrongIssuer = connectSsfStream({
      issuer: `${stack.config.issuer}/tenant`,
      tokenUrl: stack.config.tokenUrl,
      clientId: 'tpp-alpha',
      identity: stack.client('tpp-alpha'),
      eventsRequested: [SESSION_REVOKED],
    });
    // Assert
    await expect(wrongIssuer).rejects.toThrow(new SsfSetupFailed(`GET ${stack.config.issuer}/.well-known/ssf-configuration/tenant answered 404`));
  });
});
