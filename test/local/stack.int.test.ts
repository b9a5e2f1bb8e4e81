import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamoEndpoint } from '../support/dynamo-endpoint.ts';
import { createDynamoClient } from '../../local/dynamodb.ts';
import { startTestStack, TEST_SETTINGS, type TestStack } from '../support/local-stack.ts';

describe('stack', () => {
  const dirs: string[] = [];
  const stacks: Array<{ stop(): Promise<void> }> = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'setpoll-stack-'));
    dirs.push(dir);
    return dir;
  };

  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  describe('startLocalStack', () => {
    it('writes local.json with exactly the documented members', async () => {
      // Prepare
      const dir = tempDir();

      // Act
      const stack = await startTestStack({ dir });
      stacks.push(stack);

      // Assess
      const config = JSON.parse(readFileSync(join(dir, 'local.json'), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(config).sort()).toEqual(['caCertFile', 'clients', 'dynamodb', 'issuer', 'jwksUrl', 'pollUrl', 'providers', 'publicJwksUrl', 'settings', 'tokenUrl']);
      const port = stack.server.port;
      expect(config).toEqual({
        pollUrl: `https://localhost:${port}/events`,
        jwksUrl: `https://localhost:${port}/jwks.json`,
        publicJwksUrl: `https://localhost:${stack.publicServer.port}/jwks.json`,
        tokenUrl: `https://localhost:${port}/oauth/token`,
        caCertFile: join(dir, 'pki', 'ca.pem'),
        issuer: `https://localhost:${port}`,
        clients: [
          { clientId: 'tpp-alpha', certFile: join(dir, 'pki', 'clients', 'tpp-alpha.pem'), keyFile: join(dir, 'pki', 'clients', 'tpp-alpha-key.pem') },
          { clientId: 'tpp-beta', certFile: join(dir, 'pki', 'clients', 'tpp-beta.pem'), keyFile: join(dir, 'pki', 'clients', 'tpp-beta-key.pem') },
        ],
        providers: [
          { clientId: 'provider-demo', certFile: join(dir, 'pki', 'clients', 'provider-demo.pem'), keyFile: join(dir, 'pki', 'clients', 'provider-demo-key.pem') },
        ],
        dynamodb: { endpoint: dynamoEndpoint(), tableName: stack.config.dynamodb.tableName },
        settings: {
          leaseSeconds: TEST_SETTINGS.leaseSeconds,
          longPollSeconds: TEST_SETTINGS.longPollSeconds,
          maxEvents: TEST_SETTINGS.maxEvents,
          maxDeliveryAttempts: TEST_SETTINGS.maxDeliveryAttempts,
        },
      });
      expect(config).toEqual(stack.config);
      const clients = [...(config.clients as Array<{ certFile: string; keyFile: string }>), ...(config.providers as Array<{ certFile: string; keyFile: string }>)];
      for (const file of [config.caCertFile as string, ...clients.flatMap((c) => [c.certFile, c.keyFile])]) {
        expect(isAbsolute(file) && existsSync(file)).toBe(true);
      }
    });

    it('writes private keys with owner-only permissions', async () => {
      // Prepare
      const dir = tempDir();

      // Act
      const stack = await startTestStack({ dir });
      stacks.push(stack);

      // Assess
      const keyFiles = [stack.pki.caKeyFile, stack.pki.server.keyFile, ...stack.pki.clients.map((c) => c.keyFile), stack.signingKeyFile];
      expect(keyFiles.map((f) => statSync(f).mode & 0o777)).toEqual(keyFiles.map(() => 0o600));
    });

    it('reuses the PKI and the signing key on a second start in the same folder', async () => {
      // Prepare
      const dir = tempDir();
      const tableName = `t-${randomUUID()}`;
      const first = await startTestStack({ dir, tableName });
      const before = { ca: first.pki.ca.fingerprint, clients: first.pki.clients.map((c) => c.fingerprint), kid: first.publicJwk.kid };
      await first.stop();

      // Act
      const second = await startTestStack({ dir, tableName });
      stacks.push(second);

      // Assess
      expect(second.pki.created).toBe(false);
      expect({ ca: second.pki.ca.fingerprint, clients: second.pki.clients.map((c) => c.fingerprint), kid: second.publicJwk.kid }).toEqual(before);
      const poll = await second.poll('tpp-alpha');
      expect(poll.status).toBe(200);
    });

    it('serves the poll handler on a custom poll path', async () => {
      // Prepare
      const stack = await startTestStack({ pollPath: '/open-banking/v4.0/events' });
      stacks.push(stack);
      await stack.publisher.publish({ recipients: ['tpp-beta'], events: { 'urn:example:event': { n: 1 } }, jti: 'custom-path' });

      // Act
      const response = await stack.poll('tpp-beta');

      // Assess
      expect(stack.config.pollUrl).toBe(`https://localhost:${stack.server.port}/open-banking/v4.0/events`);
      expect(response.status).toBe(200);
      expect(Object.keys(response.json<{ sets: Record<string, string> }>().sets)).toEqual(['custom-path']);
    });

    it('leaves a DynamoDB Local it was given running when it stops', async () => {
      // Prepare
      const stack: TestStack = await startTestStack();

      // Act
      await stack.stop();

      // Assess
      const client = createDynamoClient(dynamoEndpoint());
      await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
      client.destroy();
    });

    it('starts its own DynamoDB Local, persisted in the state folder, and stops it', async () => {
      // Prepare
      const dir = tempDir();
      const first = await startTestStack({ dir, dynamoEndpoint: undefined, tableName: 'setpoll-local' });
      stacks.push(first);
      await first.publisher.publish({ recipients: ['tpp-alpha'], events: { 'urn:example:event': {} }, jti: 'survives-restart' });
      const firstEndpoint = first.config.dynamodb.endpoint;

      // Act
      await first.stop();
      const second = await startTestStack({ dir, dynamoEndpoint: undefined, tableName: 'setpoll-local' });
      stacks.push(second);

      // Assess
      const stopped = createDynamoClient(firstEndpoint);
      await expect(stopped.send(new ListTablesCommand({}))).rejects.toThrow();
      stopped.destroy();
      expect(existsSync(join(dir, 'dynamodb'))).toBe(true);
      const response = await second.poll('tpp-alpha');
      expect(Object.keys(response.json<{ sets: Record<string, string> }>().sets)).toEqual(['survives-restart']);
      // Two Java start-ups of DynamoDB Local: slow on a busy 2-core machine.
    }, 180_000);
  });
});
