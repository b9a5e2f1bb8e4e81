import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import type { SetpollStack } from '../../lib/setpoll-stack.ts';
import { testStack } from './support.ts';

const EXISTING_TRUSTSTORE = 's3://bank-pki-truststores/setpoll/clients.pem';

describe('SetpollStack, first deployment', () => {
  let firstStack: SetpollStack;
  let first: Template;
  let pinned: Template;
  let shared: Template;
  let sharedPinned: Template;

  beforeAll(() => {
    firstStack = testStack({ truststoreVersion: undefined });
    first = Template.fromStack(firstStack);
    pinned = Template.fromStack(testStack({ truststoreVersion: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED }));
    shared = Template.fromStack(testStack({ truststoreVersion: undefined, truststoreUri: EXISTING_TRUSTSTORE }));
    sharedPinned = Template.fromStack(testStack({ truststoreVersion: 'v7', truststoreUri: EXISTING_TRUSTSTORE }));
  });

  describe('before the truststore exists', () => {
    it('creates no mTLS domain, but everything else', () => {
      // Prepare / Act / Assess
      first.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
      first.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 0);
      first.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
      first.resourceCountIs('AWS::DynamoDB::Table', 1);
      first.resourceCountIs('AWS::Lambda::Function', 2);
      first.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
    });

    it('says so at synth, with the next step', () => {
      // Prepare / Act / Assess
      Annotations.fromStack(firstStack).hasWarning(
        '/Test/Api',
        Match.stringLikeRegexp('No mTLS custom domain yet: .*upload the client CA bundle to the TruststoreBucketName output as truststore.pem, then deploy again with -c truststoreVersion=<VersionId>'),
      );
      first.hasOutput('TruststoreBucketName', { Description: Match.stringLikeRegexp('then deploy with -c truststoreVersion=<VersionId>') });
      expect(Object.keys(first.findOutputs('*'))).not.toContain('PollUrl');
    });

    it('refuses createDomain=true: API Gateway would fail the create and roll everything back', () => {
      // Prepare / Act / Assess
      expect(() => testStack({ truststoreVersion: undefined, createDomain: true })).toThrow(/^createDomain=true needs a truststore/);
    });
  });

  describe('once the truststore is uploaded and its version given', () => {
    it('creates the mTLS domain on the pinned version, with no warning', () => {
      // Prepare / Act / Assess
      pinned.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        MutualTlsAuthentication: { TruststoreUri: Match.anyValue(), TruststoreVersion: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' },
      });
      const stack = testStack();
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('mTLS'));
    });

    it('can still leave the domain out with createDomain=false', () => {
      // Prepare / Act
      const template = Template.fromStack(testStack({ createDomain: false }));
      // Assess
      template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    });
  });

  describe('with an existing truststore (truststoreUri)', () => {
    it('creates the domain straight away on that object, and no truststore bucket', () => {
      // Prepare / Act / Assess
      shared.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        MutualTlsAuthentication: { TruststoreUri: EXISTING_TRUSTSTORE, TruststoreVersion: Match.absent() },
      });
      shared.resourceCountIs('AWS::S3::Bucket', 0);
      shared.hasOutput('TruststoreUri', { Value: EXISTING_TRUSTSTORE });
      sharedPinned.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        MutualTlsAuthentication: { TruststoreUri: EXISTING_TRUSTSTORE, TruststoreVersion: 'v7' },
      });
    });

    it.each([
      ['not an S3 URI', { truststoreUri: 'https://bucket.s3.amazonaws.com/ca.pem' }, /^truststoreUri must be s3:\/\/bucket\/key/],
      ['without a key', { truststoreUri: 's3://bank-pki-truststores/' }, /^truststoreUri must be s3:\/\/bucket\/key/],
      ['with a truststoreKey too', { truststoreUri: EXISTING_TRUSTSTORE, truststoreKey: 'ca.pem' }, /^truststoreKey and truststoreUri exclude each other/],
    ])('is refused %s', (_name, props, message) => {
      // Prepare / Act / Assess
      expect(() => testStack(props)).toThrow(message);
    });
  });

  describe('retained resources', () => {
    it('are RetainExceptOnCreate: kept on delete and replacement, removed when their own create rolls back', () => {
      // Prepare
      const resources = Object.entries(pinned.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string }>);
      // Act
      const retained = resources.filter(([, r]) => r.DeletionPolicy !== undefined && r.DeletionPolicy !== 'Delete');
      const types = [...new Set(retained.map(([, r]) => r.Type))].sort();
      // Assess: the table, its key, the signing key, both buckets and every log group.
      expect(types).toEqual(['AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket']);
      expect(retained.filter(([, r]) => r.Type === 'AWS::Logs::LogGroup')).toHaveLength(3);
      expect(retained.filter(([, r]) => r.Type === 'AWS::KMS::Key')).toHaveLength(2);
      for (const [id, r] of retained) {
        expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({ id, deletion: 'RetainExceptOnCreate', replace: 'Retain' });
      }
    });

    it('never use plain Retain, which a failed first create would leave behind, whatever optional parts are on', () => {
      // Prepare: the public key domain adds a function, an API and their log groups.
      const withPublicKeys = Template.fromStack(testStack({
        truststoreVersion: 'v7',
        publicJwksDomainName: 'keys.bank.example',
        publicJwksCertificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/0f3c5e1a-aaaa-bbbb-cccc-123456789012',
      }));
      // Act
      const plainlyRetained = (template: Template) => Object.entries(template.toJSON().Resources as Record<string, { DeletionPolicy?: string }>)
        .filter(([, r]) => r.DeletionPolicy === 'Retain').map(([id]) => id);
      // Assess
      expect(withPublicKeys.findResources('AWS::ApiGatewayV2::Api')).not.toEqual({});
      expect(Object.keys(withPublicKeys.findResources('AWS::Logs::LogGroup')).length).toBeGreaterThan(3);
      expect(plainlyRetained(pinned)).toEqual([]);
      expect(plainlyRetained(withPublicKeys)).toEqual([]);
    });
  });

  describe('deploy-time rules', () => {
    it("refuse a certificate from another region than the stack's", () => {
      // Prepare / Act
      const rules = first.toJSON().Rules as Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>;
      const rule = Object.entries(rules).find(([id]) => id.startsWith('DeployRulesCertificateInStackRegion'));
      // Assess
      expect(rule?.[1].Assertions).toEqual([
        {
          Assert: { 'Fn::Equals': ['eu-west-2', { Ref: 'AWS::Region' }] },
          AssertDescription: "certificateArn is an ACM certificate in eu-west-2: deploy the stack to eu-west-2, or use a certificate of the stack's region",
        },
      ]);
    });

    it('refuse a template synthesized with placeholders, and only then', () => {
      // Prepare
      const withPlaceholders = Template.fromStack(testStack({ placeholderSettings: ['certificateArn', 'tokenIssuer'] }));
      // Act
      const rules = withPlaceholders.toJSON().Rules as Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>;
      const rule = Object.entries(rules).find(([id]) => id.startsWith('DeployRulesNoPlaceholders'));
      // Assess
      expect(rule?.[1].Assertions).toEqual([
        {
          Assert: { 'Fn::Equals': ['placeholders', 'configured'] },
          AssertDescription: expect.stringMatching(/^This template was synthesized with placeholders for certificateArn, tokenIssuer/),
        },
      ]);
      expect(Object.keys(first.toJSON().Rules as object).some((id) => id.startsWith('DeployRulesNoPlaceholders'))).toBe(false);
    });
  });
});
