import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { ERRORED_SETS_MODES, type ErroredSetsMode } from '../lambdas/contract.ts';
import { intendedMember } from '../lambdas/core/member-names.ts';
import type { AlarmThresholds } from './constructs/poll-alarms.ts';
import { SetQueueEncryption } from './constructs/set-queue-table.ts';
import { SIGNING_ALGORITHMS, isSigningAlgorithm } from './constructs/signing-key.ts';
import { ConfigError } from './constructs/validation.ts';
import type { SetpollStackProps } from './setpoll-stack.ts';

/** How a setting's value is read: `-c key=value` gives strings, a JSON file or cdk.json keeps JSON types. */
type Kind = 'string' | 'number' | 'boolean' | 'list';

/**
 * Every deployment setting (CDK context key, or a key of the `-c config=FILE` JSON file) and its
 * kind. Defaults and meanings: SetpollStackProps (lib/setpoll-stack.ts) and docs/deploy.md.
 */
export const SETTINGS = Object.freeze({
  domainName: 'string',
  certificateArn: 'string',
  ownershipCertificateArn: 'string',
  hostedZoneId: 'string',
  hostedZoneName: 'string',
  pollPath: 'string',
  truststoreKey: 'string',
  truststoreVersion: 'string',
  truststoreUri: 'string',
  createDomain: 'boolean',
  leaseSeconds: 'number',
  longPollSeconds: 'number',
  maxEvents: 'number',
  maxDeliveryAttempts: 'number',
  erroredSets: 'string',
  memorySize: 'number',
  reservedConcurrentExecutions: 'number',
  managementReservedConcurrentExecutions: 'number',
  tracing: 'boolean',
  tableEncryption: 'string',
  tableKmsKeyArn: 'string',
  tokenJwksUrl: 'string',
  tokenIssuer: 'string',
  tokenAudience: 'string',
  tokenScopes: 'list',
  signingAlg: 'string',
  signingKeyArn: 'string',
  setIssuer: 'string',
  publicJwksDomainName: 'string',
  publicJwksCertificateArn: 'string',
  producerAccountIds: 'list',
  producersSignWithStackKey: 'boolean',
  managementMemorySize: 'number',
  notifierMaxDestinations: 'number',
  notifierNotificationsPerMinute: 'number',
  notifierMaxClaimsBytes: 'number',
  notifierMaxBulkItems: 'number',
  notifierMaxSetsPerRequest: 'number',
  throttleBurstLimit: 'number',
  throttleRateLimit: 'number',
  alarmTopicArn: 'string',
  alarmServerErrorRatePercent: 'number',
  alarmServerErrorMinRequests: 'number',
  alarmTableThrottleEvents: 'number',
  alarmFunctionErrors: 'number',
  alarmPollDurationSeconds: 'number',
  alarmManagementDurationSeconds: 'number',
  alarmOldestSetAgeMinutes: 'number',
  alarmRedeliveredAfterAcks: 'number',
  alarmFailedContinuations: 'number',
  dashboardName: 'string',
  stackName: 'string',
} satisfies Record<string, Kind>);

export type SettingName = keyof typeof SETTINGS;

/** Keys that steer how the configuration is read; only on the command line (`-c`). */
const COMMAND_LINE_KEYS = Object.freeze({ config: 'string', allowPlaceholders: 'boolean' } satisfies Record<string, Kind>);

/** Without these a deployment cannot serve a single request. */
export const REQUIRED_SETTINGS = Object.freeze(['domainName', 'certificateArn', 'tokenJwksUrl', 'tokenIssuer', 'tokenAudience'] as const);

/**
 * Stand-ins for the required settings, used only with `-c allowPlaceholders=true` (tests and an
 * offline look at the template). The stack then carries a rule that refuses to deploy it.
 */
export const PLACEHOLDERS: Readonly<Record<(typeof REQUIRED_SETTINGS)[number], string>> = Object.freeze({
  domainName: 'events.example.com',
  certificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/00000000-0000-0000-0000-000000000000',
  tokenJwksUrl: 'https://auth.example.com/.well-known/jwks.json',
  tokenIssuer: 'https://auth.example.com',
  tokenAudience: 'https://events.example.com',
});

/** The stack's name when none is configured. */
export const DEFAULT_STACK_NAME = 'Setpoll';

/**
 * Context keys that belong to the CDK itself (feature flags `@aws-cdk/...`, `aws:cdk:...` keys the
 * CLI passes, cached lookups `name:account=...`, acknowledged notices), not to setpoll.
 */
function isCdkKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':') || key === 'acknowledged-issue-numbers';
}

export interface Configuration {
  readonly stackName: string;
  readonly props: SetpollStackProps;
  /** Required settings that carry a placeholder (only with allowPlaceholders). */
  readonly placeholders: readonly string[];
}

/**
 * Reads and checks the deployment configuration: the JSON file named by `-c config=FILE` (if
 * any), overridden key by key by `-c key=value` and cdk.json context. Refuses unknown keys (naming
 * the setting a near-miss was meant to be, by the poll request's rule: lambdas/core/member-names.ts), values of the wrong kind and missing required settings, each with a
 * ConfigError whose message is one line.
 */
export function readConfiguration(node: Node): Configuration {
  const context = Object.fromEntries(Object.entries(node.getAllContext() as Record<string, unknown>).filter(([k]) => !isCdkKey(k)));
  // Deliberately unsupported: uploading CA material from the synth machine would put the trust
  // anchor of the API in a CDK asset and a BucketDeployment Lambda.
  if (context.truststoreFile !== undefined) {
    throw new ConfigError(
      'truststoreFile is not supported: upload the PEM to the TruststoreBucketName output ' +
        '(aws s3api put-object --bucket <bucket> --key truststore.pem --body <file>) and deploy with ' +
        '-c truststoreVersion=<VersionId>; see docs/deploy.md',
    );
  }
  const commandLine = { ...COMMAND_LINE_KEYS, ...SETTINGS } as Record<string, Kind>;
  refuseUnknown(Object.keys(context), commandLine, 'context');

  const configFile = typed(context, 'config', 'string', '') as string | undefined;
  const fromFile = configFile === undefined ? {} : readConfigFile(configFile);
  const allowPlaceholders = typed(context, 'allowPlaceholders', 'boolean', '') === true;
  const raw: Record<string, unknown> = { ...fromFile, ...withoutKeys(context, Object.keys(COMMAND_LINE_KEYS)) };
  // A value from the file is named with the file; one from -c needs no pointer.
  const whence = (key: string): string => (configFile !== undefined && !Object.hasOwn(context, key) ? configFile : '');
  const get = <T>(key: SettingName): T | undefined => typed(raw, key, SETTINGS[key], whence(key)) as T | undefined;

  const missing = REQUIRED_SETTINGS.filter((key) => get<string>(key) === undefined);
  if (missing.length > 0 && !allowPlaceholders) {
    throw new ConfigError(
      `missing required setting${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: set ${missing.length > 1 ? 'them' : 'it'} in ` +
        `a configuration file (-c config=config/<env>.json, copied from config/example.json) or with -c key=value ` +
        `(-c allowPlaceholders=true synthesizes placeholders for an offline look; such a template cannot be deployed)`,
    );
  }
  const required = (key: (typeof REQUIRED_SETTINGS)[number]): string => get<string>(key) ?? PLACEHOLDERS[key];

  const encryption = get<string>('tableEncryption');
  const encryptions = Object.values(SetQueueEncryption) as string[];
  if (encryption !== undefined && !encryptions.includes(encryption)) {
    throw new ConfigError(`tableEncryption must be one of ${encryptions.join(', ')} (got ${JSON.stringify(encryption)})`);
  }
  const signingAlg = get<string>('signingAlg');
  if (signingAlg !== undefined && !isSigningAlgorithm(signingAlg)) {
    throw new ConfigError(`signingAlg must be one of ${SIGNING_ALGORITHMS.join(', ')} (got ${JSON.stringify(signingAlg)})`);
  }
  const erroredSets = get<string>('erroredSets');
  if (erroredSets !== undefined && !(ERRORED_SETS_MODES as readonly string[]).includes(erroredSets)) {
    throw new ConfigError(`erroredSets must be one of ${ERRORED_SETS_MODES.join(', ')} (got ${JSON.stringify(erroredSets)})`);
  }
  const publicJwksDomainName = get<string>('publicJwksDomainName');
  const publicJwksCertificateArn = get<string>('publicJwksCertificateArn');
  if ((publicJwksDomainName === undefined) !== (publicJwksCertificateArn === undefined)) {
    throw new ConfigError(
      `publicJwksDomainName and publicJwksCertificateArn go together: set both (the public key domain and its ACM certificate), or neither (got only ${publicJwksDomainName === undefined ? 'publicJwksCertificateArn' : 'publicJwksDomainName'})`,
    );
  }
  const producerAccountIds = get<string[]>('producerAccountIds');
  const notAccount = producerAccountIds?.find((a) => !/^\d{12}$/.test(a));
  if (notAccount !== undefined) throw new ConfigError(`producerAccountIds must be 12-digit AWS account ids (got ${JSON.stringify(notAccount)})`);
  const positive = (key: SettingName, unitMs: number): Duration | undefined => {
    const n = get<number>(key);
    if (n === undefined) return undefined;
    if (!(n > 0)) throw new ConfigError(`${key} must be a positive number (got ${n})`);
    return Duration.millis(Math.round(n * unitMs));
  };
  const alarmThresholds: AlarmThresholds = {
    serverErrorRatePercent: get('alarmServerErrorRatePercent'),
    serverErrorMinRequests: get('alarmServerErrorMinRequests'),
    tableThrottleEvents: get('alarmTableThrottleEvents'),
    functionErrors: get('alarmFunctionErrors'),
    pollDuration: positive('alarmPollDurationSeconds', 1000),
    managementDuration: positive('alarmManagementDurationSeconds', 1000),
    oldestSetAge: positive('alarmOldestSetAgeMinutes', 60_000),
    redeliveredAfterAcks: get('alarmRedeliveredAfterAcks'),
  };

  const props: SetpollStackProps = {
    description: 'setpoll: RFC 8936 poll-based SET Transmitter',
    domainName: required('domainName'),
    certificateArn: required('certificateArn'),
    ownershipCertificateArn: get('ownershipCertificateArn'),
    hostedZoneId: get('hostedZoneId'),
    hostedZoneName: get('hostedZoneName'),
    pollPath: get('pollPath'),
    truststoreKey: get('truststoreKey'),
    truststoreVersion: get('truststoreVersion'),
    truststoreUri: get('truststoreUri'),
    createDomain: get('createDomain'),
    leaseSeconds: get('leaseSeconds'),
    longPollSeconds: get('longPollSeconds'),
    maxEvents: get('maxEvents'),
    maxDeliveryAttempts: get('maxDeliveryAttempts'),
    erroredSets: erroredSets as ErroredSetsMode | undefined,
    memorySize: get('memorySize'),
    reservedConcurrentExecutions: get('reservedConcurrentExecutions'),
    managementReservedConcurrentExecutions: get('managementReservedConcurrentExecutions'),
    tracing: get('tracing'),
    tableEncryption: encryption as SetQueueEncryption | undefined,
    tableKmsKeyArn: get('tableKmsKeyArn'),
    tokenJwksUrl: required('tokenJwksUrl'),
    tokenIssuer: required('tokenIssuer'),
    tokenAudience: required('tokenAudience'),
    tokenScopes: get('tokenScopes'),
    signingAlg,
    signingKeyArn: get('signingKeyArn'),
    setIssuer: get('setIssuer'),
    publicJwksDomainName,
    publicJwksCertificateArn,
    producerAccountIds,
    producersSignWithStackKey: get('producersSignWithStackKey'),
    managementMemorySize: get('managementMemorySize'),
    notifierLimits: {
      maxDestinations: get('notifierMaxDestinations'),
      notificationsPerMinute: get('notifierNotificationsPerMinute'),
      maxClaimsBytes: get('notifierMaxClaimsBytes'),
      maxBulkItems: get('notifierMaxBulkItems'),
      maxSetsPerRequest: get('notifierMaxSetsPerRequest'),
    },
    throttleBurstLimit: get('throttleBurstLimit'),
    throttleRateLimit: get('throttleRateLimit'),
    alarmTopicArn: get('alarmTopicArn'),
    alarmThresholds,
    alarmFailedContinuations: get('alarmFailedContinuations'),
    dashboardName: get('dashboardName'),
    placeholderSettings: missing.length > 0 ? missing : undefined,
  };
  return { stackName: get('stackName') ?? DEFAULT_STACK_NAME, props, placeholders: missing };
}

/** The stack props of readConfiguration. */
export function stackPropsFromContext(node: Node): SetpollStackProps {
  return readConfiguration(node).props;
}

function readConfigFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.resolve(file), 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`configuration file ${file} cannot be read: ${reason}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`configuration file ${file} must hold one JSON object of settings`);
  }
  // "$comment"-style keys document the file; everything else must be a setting.
  const settings = Object.fromEntries(Object.entries(parsed).filter(([k]) => !k.startsWith('$')));
  refuseUnknown(Object.keys(settings), SETTINGS, file);
  return settings;
}

function refuseUnknown(keys: readonly string[], known: Readonly<Record<string, Kind>>, where: string): void {
  const unknown = keys.filter((k) => !Object.hasOwn(known, k));
  if (unknown.length === 0) return;
  const described = unknown.map((k) => {
    const near = intendedMember(k, Object.keys(known));
    return near ? `${k} (did you mean ${near}?)` : k;
  });
  throw new ConfigError(`unknown setting${unknown.length > 1 ? 's' : ''} in ${where}: ${described.join(', ')}; the settings are listed in docs/deploy.md`);
}

function withoutKeys(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !keys.includes(k)));
}

/** A value of the given kind, converted from a `-c` string when needed; undefined when unset or empty. */
function typed(source: Record<string, unknown>, key: string, kind: Kind, where: string): unknown {
  const v = source[key];
  if (v === undefined || v === null || v === '') return undefined;
  const fail = (what: string): never => {
    throw new ConfigError(`${key} must be ${what} (got ${JSON.stringify(v)}${where ? ` in ${where}` : ''})`);
  };
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? v : fail('a string');
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      return Number.isFinite(n) ? n : fail('a number');
    }
    case 'boolean':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      return fail('true or false');
    case 'list':
      if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
      if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
      return fail('a list of strings');
  }
}
