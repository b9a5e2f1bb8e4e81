/**
 * `setpoll doctor` against the local stack as `npm start` runs it (in-process: DynamoDB Local, the
 * HTTPS server with client certificates, the authorization server): green with the stack's own
 * recipient, and each failure named when the certificate is wrong.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACK_ONLY_POLL } from '../../cli/doctor-checks.ts';
import { createCertificateAuthority, issueClientCertificate } from '../../local/pki.ts';
import { inProcess } from '../support/cli.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

/** The doctor's steps, in the order it runs and prints them. */
const STEPS = ['dns', 'tls', 'tls-1.1', 'mtls', 'token', 'jwks', 'public-jwks', 'poll'];

describe('setpoll doctor', () => {
  let stack: TestStack;
  /** The local stack's dev CA, for --ca. */
  let caFile: string;

  beforeAll(async () => {
    stack = await startTestStack();
    caFile = join(stack.scratch, 'dev-ca.pem');
    writeFileSync(caFile, stack.pki.caCertPem);
  });
  afterAll(() => stack?.stop());

  /** Writes PEM files for a --url run. */
  function files(name: string, material: { certPem: string; keyPem: string }): string[] {
    const cert = join(stack.scratch, `${name}.pem`);
    const key = join(stack.scratch, `${name}.key`);
    writeFileSync(cert, material.certPem);
    writeFileSync(key, material.keyPem);
    return ['--cert', cert, '--key', key];
  }

  it('passes every check against the local stack, one line per step, and changes nothing in the queue', async () => {
    // Prepare: a SET waiting for tpp-alpha, which an acknowledge-only poll must leave alone
    await stack.publisher.publish({ recipients: ['tpp-alpha'], jti: 'doctor-waiting', events: { 'urn:example:doctor': {} } });

    // Act
    const run = await inProcess('doctor', '--config', stack.configFile);

    // Assess
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(STEPS.map((step) => `OK ${step}`));
    expect(lines[0]).toMatch(/localhost → /);
    expect(lines[1]).toMatch(/TLSv1\.3, client certificate accepted/);
    expect(lines[2]).toMatch(/TLS 1\.1 refused/);
    expect(lines[3]).toMatch(/refused without a client certificate/);
    expect(lines[4]).toMatch(/issued to tpp-alpha/);
    expect(lines[5]).toContain(stack.publicJwk.kid!);
    expect(lines[6]).toMatch(/the same as the mTLS JWKS/);
    expect(lines[7]).toContain('HTTP 200 {"sets":{}}, moreAvailable: true');
    expect(run.stderr).toMatch(/^8 checks against https:\/\/localhost:\d+ as tpp-alpha: 8 OK, 0 failed, 0 skipped\n$/);
    const poll = await stack.poll('tpp-alpha', { returnImmediately: true });
    expect(Object.keys(poll.json<{ sets: object }>().sets)).toContain('doctor-waiting');
  });

  it('reports as one JSON object with --json', async () => {
    // Act
    const run = await inProcess('doctor', '--json', '--config', stack.configFile, '--client', 'tpp-beta');

    // Assess
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; target: Record<string, string>; steps: { step: string; status: string; detail: string; ms: number }[] };
    expect(report.ok).toBe(true);
    expect(report.target).toEqual({
      pollUrl: stack.config.pollUrl,
      jwksUrl: stack.config.jwksUrl,
      tokenUrl: stack.config.tokenUrl,
      clientId: 'tpp-beta',
      publicJwksUrl: stack.config.publicJwksUrl,
    });
    expect(report.steps.map((s) => [s.step, s.status])).toEqual(STEPS.map((step) => [step, 'ok']));
    for (const s of report.steps) expect(s.ms).toBeGreaterThanOrEqual(0);
    expect(run.stderr).toBe('');
  });

  it('fails the steps a certificate from another CA breaks, names them, and exits 1', async () => {
    // Prepare
    const foreign = await issueClientCertificate(await createCertificateAuthority('not the truststore'), 'tpp-alpha');

    // Act
    const run = await inProcess('doctor', '--url', stack.config.pollUrl, ...files('foreign', foreign), '--token-url', stack.config.tokenUrl, '--ca', caFile, '--timeout', '5');

    // Assess
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'OK dns',
      'FAIL tls',
      'OK tls-1.1',
      'OK mtls',
      'FAIL token',
      'FAIL jwks',
      'SKIP public-jwks',
      'SKIP poll',
    ]);
    expect(lines[1]).toMatch(/the server refused the connection with this client certificate: .+ \(is its issuer in the truststore/);
    expect(lines[6]).toMatch(/no public JWKS URL configured/);
    expect(lines[7]).toMatch(/needs an access token/);
    expect(run.stderr).toContain('setpoll: 3 checks failed: tls, token, jwks (see docs/deploy.md, Troubleshooting)\n');
  });

  it('fails the token and poll steps for a dev-CA certificate that is not registered', async () => {
    // Prepare: the TLS layer accepts it (the truststore's CA issued it); the service does not know it
    const stranger = await stack.mintClient('stranger-doctor', { register: false });

    // Act
    // An origin alone: the default poll path, as setpoll poll takes it
    const run = await inProcess('doctor', '--json', '--url', new URL(stack.config.pollUrl).origin, ...files('stranger', { certPem: stranger.cert, keyPem: stranger.key }), '--token-url', stack.config.tokenUrl, '--ca', caFile);

    // Assess
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { target: { pollUrl: string }; steps: { step: string; status: string }[] };
    expect(report.target.pollUrl).toBe(`${new URL(stack.config.pollUrl).origin}/events`);
    expect(Object.fromEntries(report.steps.map((s) => [s.step, s.status]))).toEqual({ dns: 'ok', tls: 'ok', 'tls-1.1': 'ok', mtls: 'ok', token: 'fail', jwks: 'ok', 'public-jwks': 'skip', poll: 'skip' });
  });

  it('says the server certificate is not trusted when the private CA is not passed (--ca forgotten)', async () => {
    // Prepare
    const alpha = stack.pki.clients.find((c) => c.clientId === 'tpp-alpha')!;

    // Act
    const run = await inProcess('doctor', '--json', '--url', stack.config.pollUrl, ...files('alpha', alpha), '--token-url', stack.config.tokenUrl);

    // Assess
    expect(run.code).toBe(1);
    const steps = Object.fromEntries((JSON.parse(run.stdout) as { steps: { step: string; status: string; detail: string }[] }).steps.map((s) => [s.step, s]));
    expect(steps.tls).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^the server certificate is not trusted: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY).* \(a private CA\? pass --ca FILE\)$/) });
    expect(steps.mtls).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^cannot tell: the server certificate is not trusted/) });
    expect([steps.token!.status, steps.jwks!.status, steps.poll!.status]).toEqual(['fail', 'fail', 'skip']);
  });

  it('fails mtls against a listener that asks for no client certificate (the public JWKS one)', async () => {
    // Prepare
    const alpha = stack.pki.clients.find((c) => c.clientId === 'tpp-alpha')!;

    // Act: "the API" is the listener without mTLS
    const run = await inProcess('doctor', '--json', '--url', stack.config.publicJwksUrl, ...files('alpha-public', alpha), '--token-url', stack.config.tokenUrl, '--ca', caFile);

    // Assess
    expect(run.code).toBe(1);
    const steps = Object.fromEntries((JSON.parse(run.stdout) as { steps: { step: string; status: string; detail: string }[] }).steps.map((s) => [s.step, s]));
    expect(steps.mtls).toEqual({ step: 'mtls', status: 'fail', detail: 'answered HTTP 200 without a client certificate: mutual TLS is not enforced on this domain', ms: expect.any(Number) });
    expect(steps.poll).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^the poll endpoint answered HTTP 405/) });
  });

  it('fails DNS for a host name that does not resolve and skips the rest', async () => {
    // Act
    const run = await inProcess('doctor', '--json', '--url', 'https://setpoll-doctor.invalid/events', ...files('any', stack.pki.clients[0]!), '--token-url', 'https://setpoll-doctor.invalid/token');

    // Assess
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { ok: boolean; steps: { step: string; status: string; detail: string }[] };
    expect(report.ok).toBe(false);
    expect(report.steps[0]).toMatchObject({ step: 'dns', status: 'fail', detail: expect.stringMatching(/^setpoll-doctor\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN)/) });
    expect(report.steps.slice(1).every((s) => s.status === 'skip')).toBe(true);
    expect(JSON.parse(run.stderr)).toEqual({ error: { kind: 'failure', message: '1 check failed: dns (see docs/deploy.md, Troubleshooting)', command: 'doctor', exitCode: 1 } });
  });

  it('sends an acknowledge-only poll as RFC 8936 §2.4 defines it', () => {
    // maxEvents 0: no SETs; returnImmediately true: no long poll; no ack or setErrs (nothing to acknowledge).
    expect(JSON.stringify(ACK_ONLY_POLL)).toBe('{"returnImmediately":true,"maxEvents":0}');
  });
});
