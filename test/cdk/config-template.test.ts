/**
 * Settings read from the configuration (lib/context.ts) reach the template: the errored-SET mode,
 * the public key domain and the producers, synthesized from context as `cdk synth -c …` does.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, POLL_SERVICE } from '../../lambdas/contract.ts';
import { readConfiguration } from '../../lib/context.ts';
import { SetpollStack } from '../../lib/setpoll-stack.ts';
import { BASE_PROPS, testApp } from './support.ts';

const REQUIRED = {
  domainName: BASE_PROPS.domainName,
  certificateArn: BASE_PROPS.certificateArn,
  tokenJwksUrl: BASE_PROPS.tokenJwksUrl,
  tokenIssuer: BASE_PROPS.tokenIssuer,
  tokenAudience: BASE_PROPS.tokenAudience,
  truststoreVersion: 'v1',
};
const PUBLIC_CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/99999999-2222-3333-4444-555555555555';

/** The template of the stack a configuration (as -c context) describes. */
function synthesize(context: Record<string, unknown>): { template: Template; stack: SetpollStack } {
  const app = testApp({ context: { ...REQUIRED, ...context } });
  const { stackName, props } = readConfiguration(app.node);
  const stack = new SetpollStack(app, stackName, props);
  return { template: Template.fromStack(stack), stack };
}

function pollEnvironment(template: Template): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: POLL_SERVICE } } } }));
  expect(found).toHaveLength(1);
  return found[0]!.Properties.Environment.Variables;
}

describe('configuration settings in the template', () => {
  let defaults: Template;
  let configured: ReturnType<typeof synthesize>;

  beforeAll(() => {
    defaults = synthesize({}).template;
    configured = synthesize({
      erroredSets: 'redeliver',
      maxDeliveryAttempts: '5',
      publicJwksDomainName: 'keys.bank.example',
      publicJwksCertificateArn: PUBLIC_CERT,
      producerAccountIds: '111111111111,222222222222',
      producersSignWithStackKey: 'false',
    });
  });

  it('erroredSets: final by default, as configured otherwise, in the poll function environment', () => {
    // Act
    const byDefault = pollEnvironment(defaults);
    const redeliver = pollEnvironment(configured.template);
    // Assess
    expect(byDefault[ENV.erroredSets]).toBe('final');
    expect([redeliver[ENV.erroredSets], redeliver[ENV.maxDeliveryAttempts]]).toEqual(['redeliver', '5']);
  });

  it('erroredSets redeliver without a delivery limit is refused at synth, as the function would refuse it on start', () => {
    // Act / Assess
    expect(() => synthesize({ erroredSets: 'redeliver' })).toThrow('erroredSets "redeliver" needs maxDeliveryAttempts of at least 1');
  });

  it('publicJwksDomainName and publicJwksCertificateArn create the public key domain and output its URL', () => {
    // Act / Assess
    configured.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'keys.bank.example',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: PUBLIC_CERT, SecurityPolicy: 'TLS_1_2' })],
    });
    expect(configured.template.toJSON().Outputs.PublicJwksUrl.Value).toBe('https://keys.bank.example/jwks.json');
    expect(defaults.toJSON().Outputs.PublicJwksUrl).toBeUndefined();
    // Its certificate must be in the stack's region too, checked at deploy (synth does not know the region)
    const ruleOf = (t: Template) => Object.entries(t.toJSON().Rules ?? {}).find(([id]) => id.startsWith('DeployRulesPublicJwksCertificateInStackRegion'))?.[1] as { Assertions: unknown } | undefined;
    expect(ruleOf(configured.template)?.Assertions).toEqual([
      {
        Assert: { 'Fn::Equals': ['eu-west-2', { Ref: 'AWS::Region' }] },
        AssertDescription: "publicJwksCertificateArn is an ACM certificate in eu-west-2: deploy the stack to eu-west-2, or use a certificate of the stack's region",
      },
    ]);
    expect(ruleOf(defaults)).toBeUndefined();
  });

  it('producerAccountIds become the table resource policy principals; producersSignWithStackKey false leaves kms:Sign out', () => {
    // Act
    const table = Object.values(configured.template.findResources('AWS::DynamoDB::Table'))[0]!;
    const producerPolicy = Object.values(configured.template.findResources('AWS::IAM::ManagedPolicy')).find((p) =>
      String(p.Properties.Description).startsWith('setpoll producer'),
    )!;
    // Assess
    const [statement] = table.Properties.ResourcePolicy.PolicyDocument.Statement;
    expect(statement.Sid).toBe('ProducerAccountsEnqueue');
    expect(JSON.stringify(statement.Principal)).toContain('111111111111');
    expect(JSON.stringify(statement.Principal)).toContain('222222222222');
    expect(JSON.stringify(producerPolicy.Properties.PolicyDocument)).not.toContain('kms:Sign');
    expect(JSON.stringify(defaults.toJSON())).toContain('kms:Sign');
  });
});
