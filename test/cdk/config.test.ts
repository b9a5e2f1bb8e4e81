import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import { ConfigError } from '../../lib/constructs/validation.ts';
import { PLACEHOLDERS, REQUIRED_SETTINGS, readConfiguration, SETTINGS } from '../../lib/context.ts';
import type { SetpollStackProps } from '../../lib/setpoll-stack.ts';
import { BASE_PROPS, OB_POLL_PATH, SIGNING_KEY_ARN } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PUBLIC_JWKS_CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/99999999-2222-3333-4444-555555555555';
const REQUIRED = Object.fromEntries(REQUIRED_SETTINGS.map((k) => [k, BASE_PROPS[k]]));

const configOf = (context: Record<string, unknown>) => readConfiguration(new App({ context }).node);

/** Runs the CDK app (bin/app.ts) as `cdk synth` would, with this context; returns its exit code and output. */
function runApp(context: Record<string, unknown>, outdir: string): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('deployment configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setpoll-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const writeJson = (name: string, value: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  describe('required settings', () => {
    it('are refused when missing, each named, with where to set them', () => {
      // Prepare
      const context = { domainName: 'events.bank.example', certificateArn: BASE_PROPS.certificateArn };
      // Act / Assess
      expect(() => configOf(context)).toThrow(ConfigError);
      expect(() => configOf(context)).toThrow(
        /^missing required settings tokenJwksUrl, tokenIssuer, tokenAudience: set them in a configuration file \(-c config=config\/<env>\.json/,
      );
    });

    it('name a single missing one in the singular', () => {
      // Prepare
      const { tokenAudience: _, ...context } = REQUIRED;
      // Act / Assess
      expect(() => configOf(context)).toThrow(/^missing required setting tokenAudience: set it in/);
    });

    it('no longer default the audience to the domain', () => {
      // Prepare / Act / Assess
      expect(() => configOf({ ...REQUIRED, tokenAudience: '' })).toThrow(/missing required setting tokenAudience/);
    });

    it('take placeholders only with allowPlaceholders, and say which', () => {
      // Prepare / Act
      const config = configOf({ allowPlaceholders: 'true', domainName: 'events.bank.example' });
      // Assess
      expect(config.props).toMatchObject({
        domainName: 'events.bank.example',
        certificateArn: PLACEHOLDERS.certificateArn,
        tokenJwksUrl: PLACEHOLDERS.tokenJwksUrl,
        tokenIssuer: PLACEHOLDERS.tokenIssuer,
        tokenAudience: PLACEHOLDERS.tokenAudience,
        placeholderSettings: ['certificateArn', 'tokenJwksUrl', 'tokenIssuer', 'tokenAudience'],
      });
      expect(config.placeholders).toEqual(['certificateArn', 'tokenJwksUrl', 'tokenIssuer', 'tokenAudience']);
    });

    it('are used as given, with no placeholder mark, when complete', () => {
      // Prepare / Act
      const config = configOf(REQUIRED);
      // Assess
      expect(config.props).toMatchObject(REQUIRED);
      expect(config.props.placeholderSettings).toBeUndefined();
      expect(config.stackName).toBe('Setpoll');
    });
  });

  describe('unknown keys', () => {
    it.each([
      ['tokenJWKSUrl', 'tokenJwksUrl'],
      ['domainname', 'domainName'],
      ['certificateARN', 'certificateArn'],
      ['truststoreVersoin', 'truststoreVersion'],
      ['longPollSecond', 'longPollSeconds'],
      ['token_audiense', 'tokenAudience'],
      ['erroredSet', 'erroredSets'],
      ['publicJwksDomainNmae', 'publicJwksDomainName'],
      ['publicJwksCertificateARN', 'publicJwksCertificateArn'],
      ['producerAccountId', 'producerAccountIds'],
      ['producerSignWithStackKey', 'producersSignWithStackKey'],
    ])('refuses %s and suggests %s', (misspelt, meant) => {
      // Prepare / Act / Assess
      expect(() => configOf({ ...REQUIRED, [misspelt]: 'x' })).toThrow(`unknown setting in context: ${misspelt} (did you mean ${meant}?)`);
    });

    it('refuses a key like no setting without a guess, and lists every unknown key', () => {
      // Prepare / Act / Assess
      expect(() => configOf({ ...REQUIRED, region: 'eu-west-2', tokenJWKSUrl: 'x' })).toThrow(
        'unknown settings in context: region, tokenJWKSUrl (did you mean tokenJwksUrl?); the settings are listed in docs/deploy.md',
      );
    });

    it("ignores the CDK's own keys: feature flags, aws:cdk: keys, lookups", () => {
      // Prepare
      const context = {
        ...REQUIRED,
        '@aws-cdk/core:newStyleStackSynthesis': true,
        'aws:cdk:enable-path-metadata': true,
        'availability-zones:account=123456789012:region=eu-west-2': ['eu-west-2a'],
        'acknowledged-issue-numbers': [32775],
      };
      // Act / Assess
      expect(configOf(context).props.domainName).toBe('events.bank.example');
    });

    it('keeps its special message for the unsupported truststoreFile', () => {
      // Prepare / Act / Assess
      expect(() => configOf({ ...REQUIRED, truststoreFile: './ca.pem' })).toThrow(/^truststoreFile is not supported: upload the PEM/);
    });
  });

  describe('values', () => {
    it('parses -c strings into numbers, booleans and lists', () => {
      // Prepare / Act
      const { props } = configOf({
        ...REQUIRED,
        pollPath: OB_POLL_PATH,
        longPollSeconds: '10',
        maxEvents: 50,
        createDomain: 'false',
        tableEncryption: 'customer-managed',
        tokenScopes: 'accounts,payments',
        signingAlg: 'ES256',
        signingKeyArn: SIGNING_KEY_ARN,
        setIssuer: 'https://bank.example',
        managementMemorySize: '2048',
      });
      // Assess
      expect(props).toMatchObject<Partial<SetpollStackProps>>({
        pollPath: OB_POLL_PATH,
        longPollSeconds: 10,
        maxEvents: 50,
        createDomain: false,
        tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED,
        tokenScopes: ['accounts', 'payments'],
        signingAlg: 'ES256',
        signingKeyArn: SIGNING_KEY_ARN,
        setIssuer: 'https://bank.example',
        managementMemorySize: 2048,
      });
    });

    it('reads the errored-SET mode, the public key domain and the producers', () => {
      // Prepare / Act
      const { props } = configOf({
        ...REQUIRED,
        erroredSets: 'redeliver',
        maxDeliveryAttempts: '5',
        publicJwksDomainName: 'keys.bank.example',
        publicJwksCertificateArn: PUBLIC_JWKS_CERT,
        producerAccountIds: '111111111111, 222222222222',
        producersSignWithStackKey: 'false',
      });
      // Assess
      expect(props).toMatchObject<Partial<SetpollStackProps>>({
        erroredSets: 'redeliver',
        maxDeliveryAttempts: 5,
        publicJwksDomainName: 'keys.bank.example',
        publicJwksCertificateArn: PUBLIC_JWKS_CERT,
        producerAccountIds: ['111111111111', '222222222222'],
        producersSignWithStackKey: false,
      });
    });

    it.each([
      ['longPollSeconds', 'twenty', 'longPollSeconds must be a number (got "twenty")'],
      ['createDomain', 'no', 'createDomain must be true or false (got "no")'],
      ['tableEncryption', 'kms', 'tableEncryption must be one of aws-managed, customer-managed (got "kms")'],
      ['signingAlg', 'HS256', 'signingAlg must be one of PS256, RS256, ES256 (got "HS256")'],
      ['tokenScopes', 7, 'tokenScopes must be a list of strings (got 7)'],
      ['domainName', 42, 'domainName must be a string (got 42)'],
      ['erroredSets', 'retry', 'erroredSets must be one of final, redeliver (got "retry")'],
      ['producerAccountIds', '123456789012,12345', 'producerAccountIds must be 12-digit AWS account ids (got "12345")'],
      ['producersSignWithStackKey', 'yes', 'producersSignWithStackKey must be true or false (got "yes")'],
      ['publicJwksDomainName', 'keys.bank.example', 'publicJwksDomainName and publicJwksCertificateArn go together: set both'],
      ['publicJwksCertificateArn', PUBLIC_JWKS_CERT, 'publicJwksDomainName and publicJwksCertificateArn go together: set both (the public key domain and its ACM certificate), or neither (got only publicJwksCertificateArn)'],
    ])('refuses %s=%j', (key, value, message) => {
      // Prepare / Act / Assess
      expect(() => configOf({ ...REQUIRED, [key]: value })).toThrow(message);
    });
  });

  describe('configuration file', () => {
    it('supplies the settings; -c overrides it key by key', () => {
      // Prepare
      const file = writeJson('prod.json', { $comment: 'prod', ...REQUIRED, stackName: 'setpoll-prod', longPollSeconds: 20 });
      // Act
      const config = configOf({ config: file, longPollSeconds: '10' });
      // Assess
      expect(config.stackName).toBe('setpoll-prod');
      expect(config.props).toMatchObject({ ...REQUIRED, longPollSeconds: 10 });
    });

    it('names itself when one of its values is wrong', () => {
      // Prepare
      const file = writeJson('bad-value.json', { ...REQUIRED, maxEvents: 'many' });
      // Act / Assess
      expect(() => configOf({ config: file })).toThrow(`maxEvents must be a number (got "many" in ${file})`);
    });

    it('refuses unknown keys in the file too', () => {
      // Prepare
      const file = writeJson('typo.json', { ...REQUIRED, tokenIsuer: 'x' });
      // Act / Assess
      expect(() => configOf({ config: file })).toThrow(`unknown setting in ${file}: tokenIsuer (did you mean tokenIssuer?)`);
    });

    it('refuses the command-line-only keys inside the file', () => {
      // Prepare
      const file = writeJson('nested.json', { ...REQUIRED, allowPlaceholders: true });
      // Act / Assess
      expect(() => configOf({ config: file })).toThrow(`unknown setting in ${file}: allowPlaceholders`);
    });

    it.each([
      ['missing', null, /cannot be read: no such file/],
      ['not JSON', '{ domainName: ', /cannot be read: .*JSON/],
      ['an array', '[]', /must hold one JSON object of settings/],
    ])('refuses a file that is %s', (_name, content, message) => {
      // Prepare
      const file = content === null ? path.join(dir, 'absent.json') : writeJson(`${_name}.json`, content);
      // Act / Assess
      expect(() => configOf({ config: file })).toThrow(message);
    });

    it('docs/deploy.md documents every setting, and no other', () => {
      // Prepare
      const doc = fs.readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
      // Act
      const documented = [...doc.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]);
      // Assess
      expect(documented.sort()).toEqual(Object.keys(SETTINGS).sort());
    });

    it('config/example.json is complete and valid', () => {
      // Prepare / Act
      const config = configOf({ config: path.join(ROOT, 'config/example.json') });
      // Assess
      expect(config.placeholders).toEqual([]);
      expect(config.stackName).toBe('setpoll-prod');
      expect(config.props.domainName).toBe('events.bank.example');
      expect(config.props.erroredSets).toBe('final');
    });
  });

  describe('the CDK app, run as cdk synth runs it', () => {
    it.each<[string, Record<string, unknown>, string]>([
      [
        'a missing required setting',
        { domainName: 'events.bank.example' },
        'setpoll: missing required settings certificateArn, tokenJwksUrl, tokenIssuer, tokenAudience: set them in a configuration file',
      ],
      ['a misspelt key', { ...REQUIRED, tokenJWKSUrl: 'https://as.bank.example/jwks' }, 'setpoll: unknown setting in context: tokenJWKSUrl (did you mean tokenJwksUrl?)'],
      ['a value of the wrong kind', { ...REQUIRED, maxEvents: 'many' }, 'setpoll: maxEvents must be a number (got "many")'],
      ['a value a construct refuses', { ...REQUIRED, longPollSeconds: '60' }, 'setpoll: longPollSeconds must be at most 24'],
      [
        'errored SETs redelivered without a delivery limit',
        { ...REQUIRED, erroredSets: 'redeliver' },
        'setpoll: erroredSets "redeliver" needs maxDeliveryAttempts of at least 1',
      ],
    ])('fails on %s with one line on stderr, no stack trace, exit code 1', (_name, context, start) => {
      // Prepare / Act
      const { status, stderr, stdout } = runApp(context, path.join(dir, 'out-fail'));
      // Assess
      expect(status).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.startsWith(start)).toBe(true);
      expect(stderr.endsWith('\n')).toBe(true);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at |Error:/);
    });
  });
});
