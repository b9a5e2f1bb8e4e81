import { X509Certificate } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thumbprintOfPem } from '../../lambdas/core/certificate.ts';
import { matchRoute, startHttpsServer, toApiGatewayEvent, type LambdaHandler, type RunningHttpsServer } from '../../local/https-server.ts';
import { createCertificateAuthority, issueClientCertificate } from '../../local/pki.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

/** A TLS failure: the request never got an HTTP status. */
const HANDSHAKE_FAILURE = { code: expect.stringMatching(/^(ERR_SSL_|EPROTO$|ECONNRESET$)/) };

describe('https-server', () => {
  let stack: TestStack;
  /** A second server on the same dev PKI with test routes, for what the poll handler never does. */
  let probe: RunningHttpsServer;

  beforeAll(async () => {
    stack = await startTestStack();
    const echo: LambdaHandler = async (event) => {
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
    };
    probe = await startHttpsServer({
      tls: { certPem: stack.pki.server.certPem, keyPem: stack.pki.server.keyPem, caPem: stack.pki.caCertPem },
      integrationTimeoutMs: 300,
      routes: {
        'POST /echo': echo,
        'GET /boom': async () => {
          throw new Error('secret detail /var/task/index.js:42');
        },
        'GET /binary': async () => ({
          statusCode: 201,
          headers: { 'Content-Type': 'application/octet-stream', 'X-Count': 5 },
          body: Buffer.from('raw bytes').toString('base64'),
          isBase64Encoded: true,
          cookies: ['session=1; Secure; HttpOnly', 'theme=dark'],
        }),
        'GET /inferred': async () => ({ hello: 'world' }),
        'GET /bad-status': async () => ({ statusCode: 42 }),
        'GET /slow': () => new Promise(() => undefined),
      },
    });
  });

  afterAll(async () => {
    await probe?.close();
    await stack?.stop();
  });

  describe('startHttpsServer', () => {
    it('refuses a connection without a client certificate at the handshake', async () => {
      // Prepare
      const { ca } = stack.client('tpp-alpha');

      // Act
      const request = httpsRequest(stack.config.pollUrl, { ca, body: { returnImmediately: true } });

      // Assess
      await expect(request).rejects.toMatchObject(HANDSHAKE_FAILURE);
    });

    it('refuses a client certificate issued by another CA at the handshake', async () => {
      // Prepare
      const foreignCa = await createCertificateAuthority('foreign CA');
      const impostor = await issueClientCertificate(foreignCa, 'tpp-alpha');

      // Act
      const request = httpsRequest(stack.config.pollUrl, {
        ca: stack.pki.caCertPem,
        cert: impostor.certPem,
        key: impostor.keyPem,
        body: { returnImmediately: true },
      });

      // Assess
      await expect(request).rejects.toMatchObject(HANDSHAKE_FAILURE);
    });

    it('refuses TLS 1.1 at the handshake', async () => {
      // Prepare: let the client offer TLS 1.0/1.1 at all (OpenSSL's default security level forbids it)
      const alpha = stack.client('tpp-alpha');

      // Act
      const request = httpsRequest(stack.config.pollUrl, {
        ...alpha,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
        body: { returnImmediately: true },
      });

      // Assess
      await expect(request).rejects.toMatchObject(HANDSHAKE_FAILURE);
    });

    it('answers a registered recipient over TLS 1.3', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');
      const authorization = `Bearer ${await stack.token('tpp-alpha')}`;

      // Act
      const response = await httpsRequest(stack.config.pollUrl, { ...alpha, minVersion: 'TLSv1.3', headers: { authorization }, body: { returnImmediately: true } });

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.json()).toEqual({ sets: {}, moreAvailable: false });
    });

    it('answers a registered recipient over TLS 1.2', async () => {
      // Prepare
      const beta = stack.client('tpp-beta');
      const authorization = `Bearer ${await stack.token('tpp-beta')}`;

      // Act
      const response = await httpsRequest(stack.config.pollUrl, { ...beta, maxVersion: 'TLSv1.2', headers: { authorization }, body: { returnImmediately: true } });

      // Assess
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ sets: {}, moreAvailable: false });
    });

    it('answers 403 to a dev-CA certificate that is not registered', async () => {
      // Prepare
      await stack.mintClient('tpp-unregistered', { register: false });

      // Act
      const response = await stack.poll('tpp-unregistered', { returnImmediately: true }, { authorization: '' });

      // Assess
      expect(response.status).toBe(403);
      expect(response.json()).toEqual({ err: 'access_denied', description: 'The client certificate is not registered' });
    });

    it('lets the poll handler answer 405 to other methods on the poll path', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');

      // Act
      const response = await httpsRequest(stack.config.pollUrl, { ...alpha, method: 'GET' });

      // Assess
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('POST');
      expect(response.json()).toEqual({ err: 'method_not_allowed', description: 'Only POST is allowed on this resource' });
    });

    it('serves the public SET verification key at /jwks.json, without private members', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');
      const { set } = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: { 'urn:example:event': {} }, jti: 'jwks-check' });

      // Act
      const response = await httpsRequest(stack.config.jwksUrl, { ...alpha, method: 'GET' });

      // Assess
      expect(response.status).toBe(200);
      const { keys } = response.json<{ keys: JWK[] }>();
      expect(keys).toHaveLength(1);
      const key = keys[0]!;
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig', kid: decodeProtectedHeader(set).kid });
      await expect(compactVerify(set, await importJWK(key, 'PS256'))).resolves.toBeDefined();
    });

    it('answers 404 JSON to an unknown route', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');

      // Act
      const response = await httpsRequest(new URL('/nope', stack.config.pollUrl), { ...alpha, method: 'GET' });

      // Assess
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.json()).toEqual({ err: 'not_found', description: 'No resource at this path' });
    });

    it('answers 413 JSON to a body over 10 MiB', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');
      const body = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);

      // Act
      const response = await httpsRequest(stack.config.pollUrl, { ...alpha, headers: { 'content-type': 'application/json' }, body });

      // Assess
      expect(response.status).toBe(413);
      expect(response.json()).toEqual({ err: 'payload_too_large', description: 'The request body must be at most 10485760 bytes' });
    });

    // A handler that fails: the body as exact text (nothing of the error leaks into it), or as JSON.
    it.each([
      ['answers a generic 500 when a handler throws, without its message or stack', '/boom', 500, '{"err":"server_error","description":"Internal server error"}'],
      ['answers 500 to a malformed handler result', '/bad-status', 500, { err: 'server_error', description: 'Internal server error' }],
      ['answers 503 when a handler outlives the integration timeout', '/slow', 503, { err: 'temporarily_unavailable', description: 'The service did not answer in time' }],
    ] as const)('%s', async (_title, path, status, body) => {
      // Prepare
      const alpha = stack.client('tpp-alpha');

      // Act
      const response = await httpsRequest(`${probe.origin}${path}`, { ...alpha, method: 'GET' });

      // Assess
      expect(response.status).toBe(status);
      expect(typeof body === 'string' ? response.body : response.json()).toEqual(body);
    });

    it('writes a structured result: status, headers, cookies, base64 body decoded', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');

      // Act
      const response = await httpsRequest(`${probe.origin}/binary`, { ...alpha, method: 'GET' });

      // Assess
      expect(response.status).toBe(201);
      expect(response.headers['content-type']).toBe('application/octet-stream');
      expect(response.headers['x-count']).toBe('5');
      expect(response.headers['set-cookie']).toEqual(['session=1; Secure; HttpOnly', 'theme=dark']);
      expect(response.headers['apigw-requestid']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
      expect(response.body).toBe('raw bytes');
    });

    it('writes a result without statusCode as a 200 JSON body', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');

      // Act
      const response = await httpsRequest(`${probe.origin}/inferred`, { ...alpha, method: 'GET' });

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.body).toBe('{"hello":"world"}');
    });

    it('hands the handler lowercase headers, joined duplicates, cookies and the client certificate', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');

      // Act
      const response = await httpsRequest(`${probe.origin}/echo?a=1&a=2&b=x%20y`, {
        ...alpha,
        headers: { 'X-Mixed-Case': 'Value', 'X-Dup': ['one', 'two'], Cookie: ['a=1; b=2', 'c=3'], 'content-type': 'text/plain' },
        body: 'héllo',
      });

      // Assess
      expect(response.status).toBe(200);
      const event = response.json<APIGatewayProxyEventV2>();
      expect(Object.keys(event.headers).filter((h) => h !== h.toLowerCase())).toEqual([]);
      expect(event.headers['x-mixed-case']).toBe('Value');
      expect(event.headers['x-dup']).toBe('one,two');
      expect(event.headers.cookie).toBeUndefined();
      expect(event.cookies).toEqual(['a=1', 'b=2', 'c=3']);
      expect(event.headers['x-forwarded-proto']).toBe('https');
      expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: 'POST /echo',
        rawPath: '/echo',
        rawQueryString: 'a=1&a=2&b=x%20y',
        queryStringParameters: { a: '1,2', b: 'x y' },
        body: 'héllo',
        isBase64Encoded: false,
        requestContext: {
          domainName: 'localhost',
          domainPrefix: 'localhost',
          routeKey: 'POST /echo',
          stage: '$default',
          http: { method: 'POST', path: '/echo', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: '' },
        },
      });
      const cert = event.requestContext.authentication!.clientCert;
      expect(thumbprintOfPem(cert.clientCertPem)?.hex).toBe(stack.pki.clients.find((c) => c.clientId === 'tpp-alpha')!.fingerprint);
      expect(cert.subjectDN).toBe('CN=tpp-alpha');
      expect(cert.issuerDN).toBe('CN=setpoll local dev CA');
      expect(cert.serialNumber).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
      expect(cert.validity.notBefore).toMatch(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);
      expect(event.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    });

    it('hands the handler a body that is not UTF-8 as base64', async () => {
      // Prepare
      const alpha = stack.client('tpp-alpha');
      const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

      // Act
      const response = await httpsRequest(`${probe.origin}/echo`, { ...alpha, headers: { 'content-type': 'application/octet-stream' }, body: bytes });

      // Assess
      expect(response.status).toBe(200);
      const event = response.json<APIGatewayProxyEventV2>();
      expect(event.isBase64Encoded).toBe(true);
      expect(event.body).toBe(bytes.toString('base64'));
    });
  });

  describe('toApiGatewayEvent', () => {
    it('builds the payload 2.0 event API Gateway would send', () => {
      // Prepare
      const pem = stack.pki.clients[0]!.certPem;
      const der = new X509Certificate(pem).raw;

      // Act
      const event = toApiGatewayEvent({
        method: 'POST',
        url: '/events?x=1',
        rawHeaders: ['Host', 'localhost:8443', 'Content-Type', 'application/json', 'X-Dup', '1', 'x-dup', '2', 'Cookie', 'a=1; b=2', 'cookie', 'c=3', 'User-Agent', 'ua/1'],
        body: Buffer.from('{"returnImmediately":true}'),
        httpVersion: '1.1',
        sourceIp: '127.0.0.1',
        port: 8443,
        routeKey: 'POST /events',
        domainName: 'localhost',
        requestId: 'AbCdEfGhIjKlMnO=',
        time: new Date(Date.UTC(2026, 2, 12, 19, 3, 58, 123)),
        peerCertificate: der,
      });

      // Assess
      const { 'x-amzn-trace-id': trace, ...headers } = event.headers;
      expect(trace).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      expect({ ...event, headers }).toEqual({
        version: '2.0',
        routeKey: 'POST /events',
        rawPath: '/events',
        rawQueryString: 'x=1',
        cookies: ['a=1', 'b=2', 'c=3'],
        headers: {
          host: 'localhost:8443',
          'content-type': 'application/json',
          'x-dup': '1,2',
          'user-agent': 'ua/1',
          'x-forwarded-for': '127.0.0.1',
          'x-forwarded-port': '8443',
          'x-forwarded-proto': 'https',
        },
        queryStringParameters: { x: '1' },
        requestContext: {
          accountId: '000000000000',
          apiId: 'setpolllocal',
          authentication: {
            clientCert: {
              clientCertPem: expect.stringMatching(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----$/),
              subjectDN: 'CN=tpp-alpha',
              issuerDN: 'CN=setpoll local dev CA',
              serialNumber: expect.stringMatching(/^[0-9a-f]{2}(:[0-9a-f]{2})+$/),
              validity: { notBefore: new X509Certificate(pem).validFrom, notAfter: new X509Certificate(pem).validTo },
            },
          },
          domainName: 'localhost',
          domainPrefix: 'localhost',
          http: { method: 'POST', path: '/events', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'ua/1' },
          requestId: 'AbCdEfGhIjKlMnO=',
          routeKey: 'POST /events',
          stage: '$default',
          time: '12/Mar/2026:19:03:58 +0000',
          timeEpoch: Date.UTC(2026, 2, 12, 19, 3, 58, 123),
        },
        body: '{"returnImmediately":true}',
        isBase64Encoded: false,
      });
      expect(thumbprintOfPem(event.requestContext.authentication!.clientCert.clientCertPem)?.hex).toBe(stack.pki.clients[0]!.fingerprint);
    });

    it('base64-encodes a body that is not valid UTF-8, and omits an empty one', () => {
      // Prepare
      const base = {
        method: 'POST',
        url: '/events',
        rawHeaders: [],
        httpVersion: '1.1',
        sourceIp: '127.0.0.1',
        port: 443,
        routeKey: 'POST /events',
        domainName: 'events.example.com',
        requestId: 'r',
        time: new Date(0),
      };

      // Act
      const binary = toApiGatewayEvent({ ...base, body: Buffer.from([0xc3, 0x28]) });
      const empty = toApiGatewayEvent({ ...base, body: Buffer.alloc(0) });

      // Assess
      expect(binary.body).toBe('wyg=');
      expect(binary.isBase64Encoded).toBe(true);
      expect(binary.requestContext.domainPrefix).toBe('events');
      expect(binary.requestContext.authentication).toBeUndefined();
      expect(binary.queryStringParameters).toBeUndefined();
      expect(binary.cookies).toBeUndefined();
      expect('body' in empty).toBe(false);
      expect(empty.isBase64Encoded).toBe(false);
    });
  });

  describe('matchRoute', () => {
    it('prefers the method route, then ANY, then $default', () => {
      // Prepare
      const post: LambdaHandler = async () => 'post';
      const any: LambdaHandler = async () => 'any';
      const fallback: LambdaHandler = async () => 'default';
      const routes = { 'POST /events': post, 'ANY /events': any, $default: fallback };

      // Act
      const matches = [matchRoute(routes, 'POST', '/events'), matchRoute(routes, 'GET', '/events'), matchRoute(routes, 'GET', '/other')];

      // Assess
      expect(matches.map((m) => m?.routeKey)).toEqual(['POST /events', 'ANY /events', '$default']);
      expect(matchRoute({ 'GET /jwks.json': any }, 'POST', '/jwks.json')).toBeUndefined();
    });
  });
});
