import { type App, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import { addNagChecks } from '../../lib/nag.ts';
import { SetpollStack, type SetpollStackProps } from '../../lib/setpoll-stack.ts';
import { BASE_PROPS, OB_POLL_PATH, SIGNING_KEY_ARN, TABLE_KEY_ARN, testApp } from './support.ts';

/**
 * A stack in an app that runs the production cdk-nag wiring (lib/nag.ts). Bundling does not
 * change what nag sees, so only the default variant pays for esbuild.
 */
function nagStack(props: Partial<SetpollStackProps> = {}, bundle = false): { app: App; stack: SetpollStack } {
  const app = testApp({ bundle });
  const stack = new SetpollStack(app, 'Nag', { ...BASE_PROPS, ...props });
  addNagChecks(app);
  return { app, stack };
}

/** Synthesizes; returns the validation failure message, or undefined when synth succeeds. */
function synthError(app: App): string | undefined {
  try {
    app.synth();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Every acknowledgement in the tree as `path rule`, so a new one is a reviewed test change. */
function acknowledgements(root: IConstruct): string[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.keys(m.data as Record<string, string>).map((id) => `${c.node.path} ${id.replace(/^annotation::/i, '')}`)),
    )
    .sort();
}

describe('SetpollStack', () => {
  describe('cdk-nag AwsSolutions checks', () => {
    const variants: Record<string, Partial<SetpollStackProps>> = {
      default: {},
      'OB path, pinned truststore, alarm topic': {
        pollPath: OB_POLL_PATH,
        truststoreVersion: 'v1',
        alarmTopicArn: 'arn:aws:sns:eu-west-2:123456789012:alarms',
      },
      // The key variants carry the signing key variants too: one synth each.
      'created customer managed key, ES256 signing key, X-Ray, Route 53': {
        tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED,
        signingAlg: 'ES256',
        tracing: true,
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        hostedZoneName: 'bank.example',
      },
      'existing customer managed key, existing signing key': { tableKmsKeyArn: TABLE_KEY_ARN, signingKeyArn: SIGNING_KEY_ARN },
      'first deployment, before the truststore exists': { truststoreVersion: undefined },
      // The public key endpoint (its route acknowledges APIG4 with its own reason) and producer accounts.
      'public JWKS endpoint, producer accounts': {
        publicJwksDomainName: 'keys.events.bank.example',
        publicJwksCertificateArn: 'arn:aws:acm:eu-west-2:123456789012:certificate/99999999-2222-3333-4444-555555555555',
        producerAccountIds: ['210987654321'],
      },
    };
    // One synth per variant, all up front.
    const outcomes: Record<string, { stack: SetpollStack; error: string | undefined }> = {};

    beforeAll(() => {
      for (const [name, props] of Object.entries(variants)) {
        const { app, stack } = nagStack(props, name === 'default');
        outcomes[name] = { stack, error: synthError(app) };
      }
    });

    it.each(Object.keys(variants))('finds nothing unacknowledged: %s', (name) => {
      // Prepare: synthesized with AwsSolutionsChecks (beforeAll)
      // Act
      const { error } = outcomes[name]!;
      // Assess
      expect(error).toBeUndefined();
    });

    it('acknowledges only APIG4 on the poll and management routes, and SQS3 on the dead-letter queue', () => {
      // Prepare
      const { stack } = outcomes.default!;
      // Act
      const acks = acknowledgements(stack);
      // Assess
      expect(acks).toEqual([
        'Nag/Api/HttpApi/ANY--destinations AwsSolutions-APIG4',
        'Nag/Api/HttpApi/ANY--destinations--{proxy+} AwsSolutions-APIG4',
        'Nag/Api/HttpApi/ANY--events AwsSolutions-APIG4',
        'Nag/Api/HttpApi/ANY--notifications AwsSolutions-APIG4',
        'Nag/Api/HttpApi/ANY--notifications--{proxy+} AwsSolutions-APIG4',
        'Nag/Api/HttpApi/ANY--recipient--{proxy+} AwsSolutions-APIG4',
        'Nag/Api/HttpApi/ANY--ssf--{proxy+} AwsSolutions-APIG4',
        'Nag/Api/HttpApi/GET--.well-known--ssf-configuration AwsSolutions-APIG4',
        'Nag/Api/HttpApi/GET--jwks.json AwsSolutions-APIG4',
        'Nag/Api/HttpApi/POST--events AwsSolutions-APIG4',
        'Nag/FanOutContinuations/FailureQueue AwsSolutions-SQS3',
      ]);
    });

    it('acknowledges the X-Ray wildcard on the two function roles, only when tracing is on', () => {
      // Prepare
      const { stack } = outcomes['created customer managed key, ES256 signing key, X-Ray, Route 53']!;
      // Act
      const acks = acknowledgements(stack).filter((a) => a.includes('IAM5'));
      // Assess
      expect(acks).toEqual(['Nag/Management/Role AwsSolutions-IAM5[Resource::*]', 'Nag/Poll/Role AwsSolutions-IAM5[Resource::*]']);
    });

    it('gives the management routes the same reviewed reason as the poll routes', () => {
      // Prepare
      const { stack } = outcomes.default!;
      // Act
      const reasons = [stack.api.pollRoute, ...stack.api.managementRoutes].map((route) =>
        route.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) => Object.values(m.data as Record<string, string>)),
      );
      // Assess
      expect(stack.api.managementRoutes).toHaveLength(8);
      for (const r of reasons) expect(r).toEqual(reasons[0]);
      expect(reasons[0]![0]).toMatch(/mutual TLS .* bound to the client certificate/s);
    });

    it('is live: a route added without an acknowledgement fails synthesis', () => {
      // Prepare
      const { app, stack } = nagStack();
      stack.api.httpApi.addRoutes({
        path: '/unreviewed',
        methods: [apigwv2.HttpMethod.GET],
        integration: new HttpLambdaIntegration('Unreviewed', stack.poll.function),
      });
      // Act
      const error = synthError(app);
      // Assess: reported for the new route only; the poll routes' acknowledgements do not leak.
      expect(error).toMatch(/AwsSolutions-APIG4/);
      expect(error).toContain('Nag/Api/HttpApi/GET--unreviewed/Resource');
      expect(error).not.toContain('POST--events');
    });

    it('is live: a bucket without access logs and TLS enforcement fails synthesis', () => {
      // Prepare
      const { app, stack } = nagStack();
      new s3.Bucket(stack, 'Careless');
      // Act
      const error = synthError(app);
      // Assess
      expect(error).toMatch(/AwsSolutions-S1\b/);
      expect(error).toMatch(/AwsSolutions-S10\b/);
      expect(error).toContain('Nag/Careless/Resource');
    });
  });
});
