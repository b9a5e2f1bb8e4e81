import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENV_NOT_SET_BY_CONSTRUCTS,
  ENV_READ_BY_RUNTIME,
  MANAGEMENT_FUNCTION_ENV,
  MANAGEMENT_SERVICE,
  POLL_FUNCTION_ENV,
  POLL_SERVICE,
  PUBLIC_KEYS_FUNCTION_ENV,
  PUBLIC_KEYS_SERVICE,
} from '../../lambdas/contract.ts';
import { depsFromEnv as managementDepsFromEnv } from '../../lambdas/handlers/management.ts';
import { depsFromEnv as pollDepsFromEnv } from '../../lambdas/handlers/poll.ts';
import { depsFromEnv as publicKeysDepsFromEnv } from '../../lambdas/handlers/public-keys.ts';
import { testStack } from '../cdk/support.ts';

type Variables = Record<string, unknown>;

/** The synthesized Environment.Variables of the function whose POWERTOOLS_SERVICE_NAME is `service`. */
function environmentOf(template: Template, service: string): Variables {
  const found = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }));
  expect(found).toHaveLength(1);
  return (found[0] as { Properties: { Environment: { Variables: Variables } } }).Properties.Environment.Variables;
}

/**
 * The environment as the deployed function sees it: CloudFormation references resolved to strings,
 * plus what the Lambda runtime adds. Every name the wiring looks up, set or not, is recorded.
 */
function recordingEnv(variables: Variables): { env: NodeJS.ProcessEnv; read: Set<string> } {
  const resolved: Record<string, string> = { AWS_LAMBDA_FUNCTION_NAME: 'setpoll-management', AWS_REGION: 'eu-west-2' };
  for (const [name, value] of Object.entries(variables)) {
    resolved[name] = typeof value === 'string' ? value : name === 'SETPOLL_SIGNING_KEY_ID' ? 'arn:aws:kms:eu-west-2:123456789012:key/k' : 'resolved-reference';
  }
  const read = new Set<string>();
  const env = new Proxy(resolved, {
    get: (target, name) => {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
    has: (target, name) => {
      if (typeof name === 'string') read.add(name);
      return name in target;
    },
  });
  return { env, read };
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

describe('the deployment contract (lambdas/contract.ts)', () => {
  let template: Template;

  beforeAll(() => {
    // With the optional public key endpoint, so its function is checked too.
    template = Template.fromStack(
      testStack({ publicJwksDomainName: 'keys.events.bank.example', publicJwksCertificateArn: 'arn:aws:acm:eu-west-2:123456789012:certificate/99999999-2222-3333-4444-555555555555' }),
    );
  });

  for (const { fn, service, contract, wire } of [
    { fn: 'poll', service: POLL_SERVICE, contract: POLL_FUNCTION_ENV, wire: pollDepsFromEnv },
    { fn: 'management', service: MANAGEMENT_SERVICE, contract: MANAGEMENT_FUNCTION_ENV, wire: managementDepsFromEnv },
    { fn: 'public keys', service: PUBLIC_KEYS_SERVICE, contract: PUBLIC_KEYS_FUNCTION_ENV, wire: publicKeysDepsFromEnv },
  ]) {
    describe(`the ${fn} function`, () => {
      it('is given exactly the variables its contract lists, besides the runtime ones', () => {
        // Prepare
        const variables = environmentOf(template, service);
        // Act
        const expected = [...contract.filter((name) => !ENV_NOT_SET_BY_CONSTRUCTS.includes(name)), ...ENV_READ_BY_RUNTIME];
        // Assess
        expect(sorted(Object.keys(variables))).toEqual(sorted(expected));
      });

      it('reads every variable the construct sets, and reads none the construct does not set', () => {
        // Prepare
        const variables = environmentOf(template, service);
        const { env, read } = recordingEnv(variables);
        // Act: wire the handler from that environment, as the Lambda entry point does on first use.
        wire(env);
        // Assess
        const set = Object.keys(variables).filter((name) => !ENV_READ_BY_RUNTIME.includes(name as never));
        expect(sorted(set.filter((name) => !read.has(name)))).toEqual([]);
        const readButNotSet = [...read].filter((name) => !(name in variables));
        expect(sorted(readButNotSet)).toEqual(sorted(ENV_NOT_SET_BY_CONSTRUCTS.filter((name) => contract.includes(name))));
        expect(sorted(read)).toEqual(sorted(contract));
      });
    });
  }
});
