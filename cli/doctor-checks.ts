/**
 * The checks of `setpoll doctor`, each one step a deployment must pass before a recipient can
 * poll: the host names resolve, TLS 1.2+ is spoken and TLS 1.1 refused, the API refuses a caller
 * without a client certificate and accepts this one, a token is issued, the key sets are served,
 * and an acknowledge-only poll is answered. Each step reports OK, FAIL or SKIP with one line of
 * detail; none throws.
 */
import { lookup } from 'node:dns/promises';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { decodeJwt } from 'jose';
import { RecipientError } from '../recipient/errors.ts';
import { ClientCredentialsTokenSource } from '../recipient/token-source.ts';
import { mtlsTransport, type MtlsIdentity, type MtlsTransport } from '../recipient/transport.ts';

export type StepStatus = 'ok' | 'fail' | 'skip';

export interface StepResult {
  readonly step: string;
  readonly status: StepStatus;
  readonly detail: string;
  readonly ms: number;
}

export interface DoctorTarget {
  readonly pollUrl: URL;
  /** The SET verification keys on the mTLS listener. */
  readonly jwksUrl: URL;
  /** The same keys on a listener without client certificates, when there is one. */
  readonly publicJwksUrl?: URL | undefined;
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly identity: MtlsIdentity;
  readonly scope?: string | undefined;
}

/**
 * RFC 8936 §2.4 "Acknowledge-Only": `maxEvents` 0 asks for no SETs, and `returnImmediately` true
 * is needed for the answer to come at once ("If it is false, then a long poll will still occur").
 * `ack` and `setErrs` may be omitted when there is nothing to acknowledge. So this poll changes
 * nothing in the recipient's queue.
 */
export const ACK_ONLY_POLL = { returnImmediately: true, maxEvents: 0 } as const;

/** Node's codes for a server certificate the client does not trust (as opposed to the server refusing us). */
const UNTRUSTED_SERVER = /^(UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME)/;
/** The client's own OpenSSL refusing to offer TLS 1.1: nothing was asked of the server. */
const CANNOT_OFFER = /NO_PROTOCOLS_AVAILABLE|no protocols available|UNSUPPORTED_PROTOCOL.*client|wrong ssl version/i;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

interface Probe {
  /** 'refused': no HTTP answer because TLS failed, during the handshake or right after it (TLS 1.3). */
  readonly outcome: 'answered' | 'refused';
  readonly protocol?: string | undefined;
  readonly status?: number | undefined;
  readonly body?: string | undefined;
  readonly error?: NodeJS.ErrnoException | undefined;
  /** The error came before the handshake finished. */
  readonly duringHandshake?: boolean;
  readonly serverCert?: { readonly subject: string; readonly validTo: string } | undefined;
}

export async function runDoctor(target: DoctorTarget, options: { timeoutMs: number }): Promise<StepResult[]> {
  const { timeoutMs } = options;
  const results: StepResult[] = [];
  const step = async (name: string, check: () => Promise<Omit<StepResult, 'step' | 'ms'>>): Promise<StepResult> => {
    const started = performance.now();
    let result: Omit<StepResult, 'step' | 'ms'>;
    try {
      result = await check();
    } catch (error) {
      result = fail(describeError(error));
    }
    const done = { step: name, ...result, ms: Math.round(performance.now() - started) };
    results.push(done);
    return done;
  };

  const dns = await step('dns', () => resolveHosts([target.pollUrl, target.tokenUrl, ...(target.publicJwksUrl ? [target.publicJwksUrl] : [])]));
  if (dns.status === 'fail') {
    for (const name of ['tls', 'tls-1.1', 'mtls', 'token', 'jwks', 'public-jwks', 'poll']) results.push({ step: name, ...skip('a host name does not resolve'), ms: 0 });
    return results;
  }
  const probePath = `${target.pollUrl.pathname}${target.pollUrl.search}`;
  await step('tls', async () => judgeTls(await probe(target.pollUrl, probePath, { identity: target.identity, timeoutMs })));
  await step('tls-1.1', async () => judgeOldTls(await probe(target.pollUrl, probePath, { identity: target.identity, timeoutMs, maxVersion: 'TLSv1.1' })));
  // The API's own origin, whatever --jwks-url names: any answer but a refusal there means no mTLS.
  await step('mtls', async () => judgeNoCertificate(await probe(target.pollUrl, probePath, { identity: target.identity.ca === undefined ? {} : { ca: target.identity.ca }, timeoutMs })));

  const transport = mtlsTransport(target.identity, { timeoutMs });
  try {
    let token: string | undefined;
    await step('token', async () => {
      const tokens = new ClientCredentialsTokenSource({ tokenUrl: target.tokenUrl, clientId: target.clientId, transport, ...(target.scope ? { scope: target.scope } : {}) });
      token = await tokens.token();
      return ok(describeToken(token, target.clientId));
    });
    let kids: string[] | undefined;
    await step('jwks', async () => {
      const keys = await fetchKeys(target.jwksUrl, transport);
      kids = keys.kids;
      return keys.result;
    });
    await step('public-jwks', async () => {
      if (!target.publicJwksUrl) return skip('no public JWKS URL configured (--public-jwks-url)');
      return comparePublicKeys(await fetchPublicKeys(target.publicJwksUrl, target.identity.ca, timeoutMs), kids);
    });
    await step('poll', async () => (token === undefined ? skip('needs an access token (see token)') : ackOnlyPoll(target.pollUrl, token, transport)));
  } finally {
    transport.close();
  }
  return results;
}

const ok = (detail: string) => ({ status: 'ok' as const, detail });
const fail = (detail: string) => ({ status: 'fail' as const, detail });
const skip = (detail: string) => ({ status: 'skip' as const, detail });

async function resolveHosts(urls: readonly URL[]): Promise<Omit<StepResult, 'step' | 'ms'>> {
  const hosts = [...new Set(urls.map((u) => u.hostname.replace(/^\[|\]$/g, '')))];
  const found: string[] = [];
  for (const host of hosts) {
    if (isIP(host)) {
      found.push(`${host} (an IP address)`);
      continue;
    }
    try {
      const addresses = await lookup(host, { all: true });
      found.push(`${host} → ${addresses.map((a) => a.address).join(', ')}`);
    } catch (error) {
      return fail(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ${found.join('; ')}`.replace(/; $/, ''));
    }
  }
  return ok(found.join('; '));
}

/**
 * A TLS connection to `url`'s origin that sends `GET path` and reads the status line: what a
 * handshake alone cannot show under TLS 1.3, where the server refuses a client certificate only
 * after the client finished (the refusal then arrives as an error instead of an answer).
 */
function probe(url: URL, path: string, o: { identity: Partial<MtlsIdentity>; timeoutMs: number; maxVersion?: SecureVersion }): Promise<Probe> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const old = o.maxVersion === 'TLSv1.1';
  const options: ConnectionOptions = {
    host,
    port: Number(url.port || 443),
    ...(isIP(host) ? {} : { servername: host }),
    ...(o.identity.ca === undefined ? {} : { ca: typeof o.identity.ca === 'string' || Buffer.isBuffer(o.identity.ca) ? o.identity.ca : [...o.identity.ca] }),
    ...(o.identity.cert === undefined ? {} : { cert: o.identity.cert }),
    ...(o.identity.key === undefined ? {} : { key: o.identity.key }),
    // Offering TLS 1.1 at all needs OpenSSL's security level 0 on current systems.
    ...(old ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const, ciphers: 'DEFAULT@SECLEVEL=0' } : { minVersion: 'TLSv1.2' as const }),
    ALPNProtocols: ['http/1.1'],
  };
  return new Promise((resolve) => {
    let handshakeDone = false;
    let protocol: string | undefined;
    let serverCert: Probe['serverCert'];
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (p: Probe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(p);
    };
    const socket = connect(options, () => {
      handshakeDone = true;
      protocol = socket.getProtocol() ?? undefined;
      const peer = socket.getPeerCertificate();
      const cn = peer?.subject?.CN;
      if (peer?.valid_to) serverCert = { subject: Array.isArray(cn) ? cn.join(',') : (cn ?? ''), validTo: new Date(peer.valid_to).toISOString() };
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\nUser-Agent: setpoll-doctor\r\nConnection: close\r\n\r\n`);
    });
    const timer = setTimeout(() => finish({ outcome: 'refused', error: Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' }), duringHandshake: !handshakeDone }), o.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).length > 65_536) socket.end();
    });
    const answered = (): Probe | undefined => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text)?.[1];
      if (!status) return undefined;
      const at = text.indexOf('\r\n\r\n');
      return { outcome: 'answered', protocol, status: Number(status), body: at < 0 ? '' : text.slice(at + 4), serverCert };
    };
    socket.on('end', () => finish(answered() ?? { outcome: 'refused', protocol, error: Object.assign(new Error('the server closed the connection without an answer'), { code: 'ECONNRESET' }), serverCert }));
    socket.on('close', () => finish(answered() ?? { outcome: 'refused', protocol, error: Object.assign(new Error('the connection closed without an answer'), { code: 'ECONNRESET' }), serverCert }));
    socket.on('error', (error: NodeJS.ErrnoException) => finish(answered() ?? { outcome: 'refused', protocol, error, duringHandshake: !handshakeDone, serverCert }));
  });
}

function judgeTls(p: Probe): Omit<StepResult, 'step' | 'ms'> {
  if (p.outcome === 'refused') {
    const reason = errorText(p.error);
    if (UNTRUSTED_SERVER.test(p.error?.code ?? '')) return fail(`the server certificate is not trusted: ${reason} (a private CA? pass --ca FILE)`);
    return fail(`the server refused the connection with this client certificate: ${reason} (is its issuer in the truststore, is it unrevoked and unexpired?)`);
  }
  // API Gateway answers 403 {"message":"Forbidden"} to a certificate its truststore does not accept.
  if (p.status === 403 && !/"err"\s*:/.test(p.body ?? '')) {
    return fail(`the gateway answered 403 to this client certificate: its issuer is not in the truststore, it is self-signed, or it uses an insecure signature algorithm`);
  }
  const server = p.serverCert ? `; server certificate ${p.serverCert.subject ? `CN=${p.serverCert.subject} ` : ''}valid until ${p.serverCert.validTo}` : '';
  return ok(`${p.protocol ?? 'TLS'}, client certificate accepted (HTTP ${p.status})${server}`);
}

function judgeOldTls(p: Probe): Omit<StepResult, 'step' | 'ms'> {
  if (p.outcome === 'answered' || (p.protocol !== undefined && p.protocol !== 'TLSv1.2' && p.protocol !== 'TLSv1.3')) {
    return fail(`the server accepted ${p.protocol ?? 'TLS 1.1'}: the API must require TLS 1.2 or later`);
  }
  const reason = errorText(p.error);
  if (p.duringHandshake && CANNOT_OFFER.test(reason)) return skip(`this machine's OpenSSL cannot offer TLS 1.1 (${reason})`);
  return ok(`TLS 1.1 refused (${reason})`);
}

function judgeNoCertificate(p: Probe): Omit<StepResult, 'step' | 'ms'> {
  if (p.outcome === 'refused') {
    const reason = errorText(p.error);
    if (UNTRUSTED_SERVER.test(p.error?.code ?? '')) return fail(`cannot tell: the server certificate is not trusted (${reason})`);
    return ok(`refused without a client certificate (${reason})`);
  }
  if (p.status === 403) return ok('answered 403 without a client certificate');
  return fail(`answered HTTP ${p.status} without a client certificate: mutual TLS is not enforced on this domain`);
}

function describeToken(token: string, clientId: string): string {
  let claims: ReturnType<typeof decodeJwt> = {};
  try {
    claims = decodeJwt(token);
  } catch {
    return `issued to ${clientId} (not a JWT)`;
  }
  const scope = typeof claims.scope === 'string' ? `, scope "${claims.scope}"` : '';
  const expires = typeof claims.exp === 'number' ? `, expires in ${Math.round(claims.exp - Date.now() / 1000)} s` : '';
  return `issued to ${clientId}${scope}${expires}`;
}

/** The kids of a JWKS document, or why it is not one a recipient can use. */
function checkJwks(status: number, body: string, where: string): { kids?: string[]; problem?: string } {
  if (status !== 200) return { problem: `${where} answered HTTP ${status}` };
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { problem: `${where} is not JSON` };
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return { problem: `${where} holds no keys` };
  const kids: string[] = [];
  for (const key of keys as Record<string, unknown>[]) {
    if (typeof key?.kty !== 'string' || typeof key.kid !== 'string') return { problem: `${where} holds a key without kty or kid` };
    const leaked = PRIVATE_JWK_MEMBERS.filter((m) => m in key);
    if (leaked.length > 0) return { problem: `${where} publishes private key members (${leaked.join(', ')}) for kid ${key.kid}` };
    kids.push(`${key.kid}${typeof key.alg === 'string' ? ` (${key.alg})` : ''}`);
  }
  return { kids };
}

async function fetchKeys(url: URL, transport: MtlsTransport): Promise<{ result: Omit<StepResult, 'step' | 'ms'>; kids?: string[] }> {
  const res = await transport({ method: 'GET', url, headers: { accept: 'application/json' } });
  const { kids, problem } = checkJwks(res.status, res.body, url.href);
  if (!kids) return { result: fail(problem!) };
  return { result: ok(`${kids.length} key${kids.length === 1 ? '' : 's'} at ${url.href}: ${kids.join(', ')}`), kids };
}

/** A plain HTTPS GET: no client certificate, as a receiver that only wants keys. */
function fetchPublicKeys(url: URL, ca: MtlsIdentity['ca'], timeoutMs: number): Promise<{ status: number; body: string; url: URL }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json' },
        agent: false,
        timeout: timeoutMs,
        minVersion: 'TLSv1.2',
        ...(ca === undefined ? {} : { ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), url }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function comparePublicKeys(res: { status: number; body: string; url: URL }, mtlsKids: readonly string[] | undefined): Omit<StepResult, 'step' | 'ms'> {
  const { kids, problem } = checkJwks(res.status, res.body, res.url.href);
  if (!kids) return fail(problem!);
  if (mtlsKids && [...kids].sort().join('\n') !== [...mtlsKids].sort().join('\n')) {
    return fail(`${res.url.href} serves other keys than the mTLS JWKS: ${kids.join(', ')}`);
  }
  return ok(`${kids.length} key${kids.length === 1 ? '' : 's'} at ${res.url.href} without a client certificate${mtlsKids ? ', the same as the mTLS JWKS' : ''}`);
}

async function ackOnlyPoll(pollUrl: URL, token: string, transport: MtlsTransport): Promise<Omit<StepResult, 'step' | 'ms'>> {
  const res = await transport({
    method: 'POST',
    url: pollUrl,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(ACK_ONLY_POLL),
  });
  let body: { sets?: unknown; moreAvailable?: unknown; err?: unknown; description?: unknown } | undefined;
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    body = undefined;
  }
  if (res.status !== 200) {
    const err = typeof body?.err === 'string' ? `: ${body.err}${typeof body.description === 'string' ? `: ${body.description}` : ''}` : '';
    const retry = res.headers['retry-after'] ? ` (Retry-After ${res.headers['retry-after']})` : '';
    return fail(`the poll endpoint answered HTTP ${res.status}${err}${retry}`);
  }
  const sets = body?.sets;
  if (typeof sets !== 'object' || sets === null || Array.isArray(sets)) return fail('the poll answer has no "sets" object (RFC 8936 §2.4)');
  if (Object.keys(sets).length > 0) return fail(`an acknowledge-only poll (maxEvents 0) returned ${Object.keys(sets).length} SETs`);
  if (body?.moreAvailable !== undefined && typeof body.moreAvailable !== 'boolean') return fail('"moreAvailable" is not a boolean');
  return ok(`HTTP 200 {"sets":{}}${body?.moreAvailable === true ? ', moreAvailable: true (SETs are waiting)' : ''} to ${JSON.stringify(ACK_ONLY_POLL)}`);
}

/** One short line: the code and, for an OpenSSL error, just its reason (`tlsv1 alert protocol version`). */
function errorText(error: NodeJS.ErrnoException | undefined): string {
  if (!error) return 'no answer';
  const openssl = /:SSL routines:[^:]*:([^:]+):/.exec(error.message)?.[1];
  const reason = (openssl ?? error.message).replace(/\s+/g, ' ').trim();
  return error.code && !reason.includes(error.code) ? `${error.code}: ${reason}` : reason;
}

function describeError(error: unknown): string {
  if (error instanceof RecipientError) return error.message;
  const e = error as NodeJS.ErrnoException;
  return e?.message ? errorText(e) : String(error);
}
