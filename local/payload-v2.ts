/**
 * The HTTP API payload format 2.0 event, built from a request the way API Gateway builds it, so
 * the handlers run locally on the same input they get in AWS. The documented shape and example:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * (test/local/fixtures/payload-v2-documented.json holds that example; test/local/payload-v2.int.test.ts
 * compares a captured local event with it).
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import type { APIGatewayEventClientCertificate, APIGatewayProxyEventV2 } from 'aws-lambda';

const ACCOUNT_ID = '000000000000';
const API_ID = 'setpolllocal';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What the converter needs from an HTTP request; plain data so it can be tested on its own. */
export interface RawRequest {
  readonly method: string;
  /** The request target as received: path and query, still percent-encoded. */
  readonly url: string;
  /** Node's `rawHeaders`: names and values alternating, duplicates and original case kept. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** Node's `httpVersion`, e.g. '1.1'. */
  readonly httpVersion: string;
  readonly sourceIp: string;
  readonly port: number;
  readonly routeKey: string;
  /** The variables of the matched route (a greedy route's `{proxy: '…'}`); absent for a route without any. */
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly domainName: string;
  readonly requestId: string;
  readonly time: Date;
  /** DER of the verified client certificate. */
  readonly peerCertificate?: Buffer;
  /** The certificate already described (the server reuses one per connection); wins over `peerCertificate`. */
  readonly clientCert?: APIGatewayEventClientCertificate;
}

/** A request target whose path holds a percent-encoding that decodes to no UTF-8 text. */
export class MalformedRequestTarget extends Error {
  constructor() {
    super('The path holds a malformed percent-encoding');
    this.name = 'MalformedRequestTarget';
  }
}

/**
 * The path and query API Gateway hands over for a request target. `rawQueryString` is the query
 * as sent (still percent-encoded). `rawPath` is the path percent-DECODED, and cut at a `?` that
 * decoding produced: HTTP APIs deliver it that way, though the documentation does not say so.
 * Captured events in public reports show it: `GET /a%2Fb` arrives as `"rawPath": "/a/b"`
 * (https://github.com/fastify/aws-lambda-fastify/issues/169), `%40id%2Fassets%2Frsf0.js%23save.txt`
 * as `@id/assets/rsf0.js#save.txt` (https://github.com/honojs/hono/issues/2156), and live captures
 * of HTTP APIs decoding `rawPath` and truncating it at a decoded `?`
 * (https://github.com/middleapi/standard-server/pull/93, citing hotsock/voker#8); the query
 * string stays encoded (https://github.com/ministackorg/ministack/issues/1035). Routes are matched
 * on the decoded path too, so no handler may decode it again, and an id that holds `/`, `%`, `?`
 * or `#` cannot be addressed in a path at all (lambdas/shared/client-id.ts refuses them).
 *
 * A malformed escape (`%E0%A4%A`) is refused here with MalformedRequestTarget (the local server
 * answers 400); what API Gateway does with one is not documented.
 */
export function requestTarget(url: string): { rawPath: string; rawQueryString: string } {
  const at = url.indexOf('?');
  const encodedPath = at < 0 ? url : url.slice(0, at);
  const rawQueryString = at < 0 ? '' : url.slice(at + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(encodedPath);
  } catch {
    throw new MalformedRequestTarget();
  }
  const cut = decoded.indexOf('?');
  return { rawPath: cut < 0 ? decoded : decoded.slice(0, cut), rawQueryString };
}

/**
 * Media types whose bodies API Gateway hands over as text. HTTP APIs have no binaryMediaTypes
 * setting; a body of any other type, or of none, arrives base64-encoded with `isBase64Encoded`
 * (the rule verified against an HTTP API in https://github.com/ministackorg/ministack/pull/766;
 * AWS's page above says only "If the content type of the request is binary, the body is
 * base64-encoded").
 */
const TEXT_MEDIA_TYPE = /^(text\/[^;\s]+|application\/(json|xml|javascript))$/;

export function isTextContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType !== undefined && TEXT_MEDIA_TYPE.test(mediaType);
}

/**
 * The body as API Gateway hands it over: text for a text media type, base64 otherwise; undefined
 * for an empty body. A "text" body that is not valid UTF-8 is handed over as base64 too, so the
 * handler sees the bytes sent rather than replacement characters (AWS does not document this case).
 */
export function encodeBody(bytes: Buffer, contentType?: string): { text: string; base64: boolean } | undefined {
  if (bytes.length === 0) return undefined;
  if (isTextContentType(contentType)) {
    try {
      return { text: utf8.decode(bytes), base64: false };
    } catch {
      // fall through to base64
    }
  }
  return { text: bytes.toString('base64'), base64: true };
}

/**
 * Builds the HTTP API payload format 2.0 event from a request, following API Gateway's rules:
 * header names lowercased and duplicates joined with commas; `Cookie` headers split into
 * `cookies` and left out of `headers`; query parameters decoded and repeated ones joined with
 * commas; `rawPath` decoded (requestTarget); the body as text or base64 (encodeBody); the mTLS
 * certificate in `requestContext.authentication.clientCert` (describeCertificate).
 * Throws MalformedRequestTarget for a path that does not decode.
 */
export function toApiGatewayEvent(request: RawRequest): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase();
    const value = request.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter((c) => c.length > 0));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-port'] = String(request.port);
  headers['x-forwarded-proto'] = 'https';
  headers['x-amzn-trace-id'] ??= traceId(request.time);

  const { rawPath, rawQueryString } = requestTarget(request.url);
  const queryStringParameters: Record<string, string> = {};
  if (rawQueryString) {
    for (const [key, value] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[key] = key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
    }
  }

  const body = encodeBody(request.body, headers['content-type']);
  const clientCert = request.clientCert ?? (request.peerCertificate ? describeCertificate(request.peerCertificate) : undefined);
  const domainPrefix = request.domainName.split('.')[0] ?? request.domainName;

  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      ...(clientCert ? { authentication: { clientCert } } : {}),
      domainName: request.domainName,
      domainPrefix,
      http: {
        method: request.method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey: request.routeKey,
      stage: '$default',
      time: clfTime(request.time),
      timeEpoch: request.time.getTime(),
    },
    ...(body === undefined ? {} : { body: body.text }),
    ...(request.pathParameters ? { pathParameters: { ...request.pathParameters } } : {}),
    isBase64Encoded: body?.base64 ?? false,
  };
}

/**
 * The `clientCert` member API Gateway fills in for an mTLS request
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-mutual-tls.html: "API
 * Gateway forwards the certificates that clients provide to ... backend integrations"), in the
 * formats of AWS's captured HTTP API event
 * (https://aws.amazon.com/blogs/compute/introducing-mutual-tls-authentication-for-amazon-api-gateway/)
 * and of the payload documentation's example, which are OpenSSL's: the DNs in certificate order,
 * comma-joined (`C=US,ST=Washington,...,CN=My Client`); the serial in decimal when it fits a
 * signed 64-bit integer (`"1"`), else as colon-separated lowercase hex pairs (`a1:a1:...`); the
 * validity dates as `May 28 12:30:02 2019 GMT` (a one-digit day padded with a space).
 */
export function describeCertificate(der: Buffer): APIGatewayEventClientCertificate {
  const cert = new X509Certificate(der);
  return {
    clientCertPem: `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----`,
    subjectDN: distinguishedName(cert.subject),
    issuerDN: distinguishedName(cert.issuer),
    serialNumber: opensslSerial(cert.serialNumber),
    validity: { notBefore: cert.validFrom, notAfter: cert.validTo },
  };
}

/** OpenSSL's X509_print rule: decimal when the serial fits a long, else hex pairs joined by ':'. */
export function opensslSerial(hexSerial: string): string {
  const hex = hexSerial.toLowerCase().replace(/^(00)+(?=.)/, '');
  const value = BigInt(`0x${hex}`);
  if (hex.length <= 16 && value <= 0x7fff_ffff_ffff_ffffn) return value.toString(10);
  return (hex.length % 2 ? `0${hex}` : hex).match(/../g)!.join(':');
}

/** Node's one-attribute-per-line form (certificate order) as one comma-joined line. */
function distinguishedName(subject: string): string {
  return subject.split('\n').filter(Boolean).join(',');
}

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function traceId(date: Date): string {
  return `Root=1-${Math.floor(date.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}
