/**
 * The local server's payload format 2.0 event against AWS's documented example
 * (fixtures/payload-v2-documented.json, with its source): captured through a real HTTPS request
 * with a real client certificate, it must have the same keys and the same value formats, and the
 * rules the documentation and AWS's captured events state (decoded rawPath, lowercase headers,
 * joined duplicates, cookies, base64 bodies, clientCert formats).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsServer, type LambdaHandler, type RunningHttpsServer } from '../../local/https-server.ts';
import { encodeBody, MalformedRequestTarget, opensslSerial, requestTarget } from '../../local/payload-v2.ts';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type IssuedClientCertificate } from '../../local/pki.ts';
import { httpsRequest } from '../support/https-client.ts';

const documented = JSON.parse(readFileSync(new URL('./fixtures/payload-v2-documented.json', import.meta.url), 'utf8')) as {
  source: string;
  event: Record<string, unknown>;
};

/**
 * Members of the documented example that exist only with a configuration setpoll does not use:
 * a JWT or Lambda authorizer (setpoll verifies tokens in the function) and stage variables.
 */
const ABSENT_BY_CONFIGURATION = ['requestContext.authorizer', 'stageVariables'];

/** The format of each documented value that is not a placeholder, as a test both events must pass. */
const OPENSSL_DATE = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d\d:\d\d:\d\d \d{4} GMT$/;
const FORMATS: Record<string, (value: unknown, event: Record<string, unknown>) => boolean> = {
  version: (v) => v === '2.0',
  routeKey: (v) => typeof v === 'string' && /^(\$default|[A-Z]+ \/\S*)$/.test(v),
  rawPath: (v) => typeof v === 'string' && v.startsWith('/') && !v.includes('?'),
  rawQueryString: (v) => typeof v === 'string' && !v.startsWith('?') && /^[^\s#]*$/.test(v),
  cookies: (v) => Array.isArray(v) && v.every((c) => typeof c === 'string' && !c.includes(';')),
  headers: (v) => isStringRecord(v) && Object.keys(v).every((k) => k === k.toLowerCase()),
  queryStringParameters: (v) => isStringRecord(v),
  'requestContext.accountId': (v) => typeof v === 'string' && /^\d{12}$/.test(v),
  'requestContext.authentication.clientCert.serialNumber': (v) => typeof v === 'string' && /^([0-9a-f]{2}(:[0-9a-f]{2})+|\d+)$/.test(v),
  'requestContext.authentication.clientCert.validity.notBefore': (v) => typeof v === 'string' && OPENSSL_DATE.test(v),
  'requestContext.authentication.clientCert.validity.notAfter': (v) => typeof v === 'string' && OPENSSL_DATE.test(v),
  'requestContext.domainPrefix': (v, e) => v === String(get(e, 'requestContext.domainName')).split('.')[0],
  'requestContext.http.method': (v) => typeof v === 'string' && /^[A-Z]+$/.test(v),
  'requestContext.http.path': (v, e) => v === e.rawPath,
  'requestContext.http.protocol': (v) => typeof v === 'string' && /^HTTP\/\d\.\d$/.test(v),
  'requestContext.http.sourceIp': (v) => typeof v === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(v),
  'requestContext.routeKey': (v, e) => v === e.routeKey,
  'requestContext.stage': (v) => v === '$default',
  'requestContext.time': (v) => typeof v === 'string' && /^\d\d\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d\d:\d\d:\d\d \+0000$/.test(v),
  'requestContext.timeEpoch': (v) => Number.isSafeInteger(v) && String(v).length === 13,
  isBase64Encoded: (v) => typeof v === 'boolean',
  pathParameters: (v) => isStringRecord(v),
};

describe('payload format 2.0: the local server against AWS', () => {
  let server: RunningHttpsServer;
  let client: IssuedClientCertificate;
  let caPem: string;

  beforeAll(async () => {
    const ca = await createCertificateAuthority('payload parity CA');
    const serverCert = await issueServerCertificate(ca);
    client = await issueClientCertificate(ca, 'tpp-parity');
    caPem = ca.certPem;
    const echo: LambdaHandler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    server = await startHttpsServer({
      tls: { certPem: serverCert.certPem, keyPem: serverCert.keyPem, caPem },
      routes: { 'ANY /parity/{proxy+}': echo, 'POST /echo': echo },
    });
  });
  afterAll(() => server?.close());

  /** The event the handler got for a request sent over HTTPS with the client certificate. */
  async function capture(path: string, options: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {}): Promise<APIGatewayProxyEventV2> {
    const res = await httpsRequest(`${server.origin}${path}`, { method: 'POST', ca: caPem, cert: client.certPem, key: client.keyPem, ...options });
    expect(res.status).toBe(200);
    return res.json<APIGatewayProxyEventV2>();
  }

  it('has the documented example event\'s keys and value formats', async () => {
    // Act: a request carrying everything the documented example shows
    const event = await capture('/parity/my/path?parameter1=value1&parameter1=value2&parameter2=value', {
      headers: { Header1: 'value1', Header2: ['value1', 'value2'], Cookie: 'cookie1=a; cookie2=b', 'Content-Type': 'text/plain', 'User-Agent': 'agent' },
      body: 'Hello from Lambda',
    });

    // Assess: the key sets, apart from what needs an authorizer or stage variables
    const expectedKeys = keyPaths(documented.event).filter((k) => !ABSENT_BY_CONFIGURATION.some((a) => k === a || k.startsWith(`${a}.`)));
    const dynamicMaps = ['headers.', 'queryStringParameters.', 'pathParameters.'];
    const structural = (keys: string[]) => keys.filter((k) => !dynamicMaps.some((m) => k.startsWith(m))).sort();
    expect(structural(keyPaths(event as unknown as Record<string, unknown>))).toEqual(structural(expectedKeys));
    // ...the formats, checked on AWS's example too so that no rule is made up
    for (const [path, format] of Object.entries(FORMATS)) {
      expect.soft(format(get(documented.event, path), documented.event), `documented ${path}`).toBe(true);
      expect.soft(format(get(event, path), event as unknown as Record<string, unknown>), `local ${path}: ${JSON.stringify(get(event, path))}`).toBe(true);
    }
    // ...and the values AWS's rules give for this request
    expect(event).toMatchObject({
      routeKey: 'ANY /parity/{proxy+}',
      rawPath: '/parity/my/path',
      rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
      cookies: ['cookie1=a', 'cookie2=b'],
      queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
      pathParameters: { proxy: 'my/path' },
      body: 'Hello from Lambda',
      isBase64Encoded: false,
      requestContext: { stage: '$default', http: { method: 'POST', path: '/parity/my/path', protocol: 'HTTP/1.1', userAgent: 'agent' } },
    });
    expect(event.headers).toMatchObject({ header1: 'value1', header2: 'value1,value2' });
    expect(event.headers.cookie).toBeUndefined();
    expect(documented.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/apigateway\/.*http-api-develop-integrations-lambda\.html/);
  });

  it('describes the client certificate as API Gateway does', async () => {
    // Act
    const event = await capture('/echo', { body: '{}', headers: { 'content-type': 'application/json' } });

    // Assess
    const cert = new X509Certificate(client.certPem);
    expect(event.requestContext.authentication?.clientCert).toEqual({
      clientCertPem: client.certPem.trim(),
      subjectDN: 'CN=tpp-parity',
      issuerDN: 'CN=payload parity CA',
      serialNumber: cert.serialNumber.toLowerCase().match(/../g)!.join(':'),
      validity: { notBefore: cert.validFrom, notAfter: cert.validTo },
    });
  });

  it('hands over rawPath percent-decoded and cut at a decoded "?", and routes on it', async () => {
    // Act
    const slash = await capture('/parity/org%2Ftpp%3A1');
    const question = await capture('/parity/tpp%3Fadmin=true?x=1');
    const space = await capture('/parity/a%20b%25c');

    // Assess
    expect([slash.rawPath, slash.requestContext.http.path, slash.pathParameters]).toEqual(['/parity/org/tpp:1', '/parity/org/tpp:1', { proxy: 'org/tpp:1' }]);
    expect([question.rawPath, question.rawQueryString, question.queryStringParameters]).toEqual(['/parity/tpp', 'x=1', { x: '1' }]);
    expect(space.rawPath).toBe('/parity/a b%c');
  });

  it('answers 400 to a path whose percent-encoding does not decode, without calling the handler', async () => {
    // Act
    const res = await httpsRequest(`${server.origin}/parity/%E0%A4%A`, { method: 'GET', ca: caPem, cert: client.certPem, key: client.keyPem });

    // Assess
    expect([res.status, res.json()]).toEqual([400, { err: 'invalid_request', description: 'The path holds a malformed percent-encoding' }]);
  });

  it('hands over text media types as text and every other body as base64', async () => {
    // Act
    const json = await capture('/echo', { body: '{"a":"é"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    const form = await capture('/echo', { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const untyped = await capture('/echo', { body: 'plain' });
    const jose = await capture('/echo', { body: '{}', headers: { 'content-type': 'application/jose+json' } });

    // Assess
    expect([json.body, json.isBase64Encoded]).toEqual(['{"a":"é"}', false]);
    expect([form.body, form.isBase64Encoded]).toEqual([Buffer.from('a=1').toString('base64'), true]);
    expect([untyped.body, untyped.isBase64Encoded]).toEqual([Buffer.from('plain').toString('base64'), true]);
    expect([jose.body, jose.isBase64Encoded]).toEqual([Buffer.from('{}').toString('base64'), true]);
  });
});

describe('payload-v2 rules', () => {
  it('requestTarget keeps the query as sent and refuses a malformed escape', () => {
    expect(requestTarget('/a%2Fb?q=%2F&r')).toEqual({ rawPath: '/a/b', rawQueryString: 'q=%2F&r' });
    expect(requestTarget('/x%3Fy%3Fz')).toEqual({ rawPath: '/x', rawQueryString: '' });
    expect(() => requestTarget('/%FF')).toThrow(MalformedRequestTarget);
  });

  it('encodeBody falls back to base64 for a text type whose bytes are not UTF-8, and omits an empty body', () => {
    expect(encodeBody(Buffer.from([0xc3, 0x28]), 'text/plain')).toEqual({ text: 'wyg=', base64: true });
    expect(encodeBody(Buffer.from('<a/>'), 'Application/XML')).toEqual({ text: '<a/>', base64: false });
    expect(encodeBody(Buffer.alloc(0), 'application/json')).toBeUndefined();
  });

  it('opensslSerial prints a serial that fits a long in decimal, a longer one as hex pairs', () => {
    expect([opensslSerial('01'), opensslSerial('7FFFFFFFFFFFFFFF'), opensslSerial('8000000000000000'), opensslSerial('A1A1A1A1A1A1A1A1A1')]).toEqual([
      '1',
      '9223372036854775807',
      '80:00:00:00:00:00:00:00',
      'a1:a1:a1:a1:a1:a1:a1:a1:a1',
    ]);
  });
});

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** Every key path of an object, arrays as leaves: `requestContext.http.method`. */
function keyPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    return typeof child === 'object' && child !== null && !Array.isArray(child) ? [path, ...keyPaths(child as Record<string, unknown>, `${path}.`)] : [path];
  });
}

function get(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined), value);
}
