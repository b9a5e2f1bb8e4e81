import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';
import { SetpollStack, type SetpollStackProps } from '../../lib/setpoll-stack.ts';

/** Realistic, valid configuration; each test overrides only what it is about. */
export const BASE_PROPS: SetpollStackProps = Object.freeze({
  domainName: 'events.bank.example',
  certificateArn: 'arn:aws:acm:eu-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555',
  tokenJwksUrl: 'https://as.bank.example/.well-known/jwks.json',
  tokenIssuer: 'https://as.bank.example',
  tokenAudience: 'https://events.bank.example',
  // The truststore exists (uploaded, version pinned): the mTLS domain is created.
  truststoreVersion: 'v1',
});

export const OB_POLL_PATH = '/open-banking/v4.0/events';
export const TABLE_KEY_ARN = 'arn:aws:kms:eu-west-2:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
export const SIGNING_KEY_ARN = 'arn:aws:kms:eu-west-2:123456789012:key/12345678-90ab-cdef-1234-567890abcdef';
export const ALARM_TOPIC_ARN = 'arn:aws:sns:eu-west-2:123456789012:setpoll-alarms';

export interface TestAppOptions {
  /**
   * Run esbuild for real. Off by default: bundling is what the NodejsFunction tests and the
   * nag tests exercise; elsewhere a placeholder asset keeps the suite fast.
   */
  readonly bundle?: boolean;
  readonly context?: AppProps['context'];
}

/** The feature flags pinned in cdk.json: the tests synthesize what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze(
  (JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context,
);

export function testApp(options: TestAppOptions = {}): App {
  return new App({
    // The built-in CloudFormation schema check only ever warns, and costs ~4 s per worker;
    // `cdk synth` still runs it.
    builtinCloudFormationValidation: false,
    context: {
      ...CDK_JSON_CONTEXT,
      // Validation failures throw with the report in-process, whatever NODE_ENV says.
      '@aws-cdk/core:appMode': 'inmemory',
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

export function testStack(props: Partial<SetpollStackProps> = {}, options: TestAppOptions = {}): SetpollStack {
  return new SetpollStack(testApp(options), 'Test', { ...BASE_PROPS, ...props });
}
