import { Annotations, Aws, CfnRule, Fn, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface DeployRulesProps {
  /** The ACM certificate of the custom domain; its region must be the stack's. */
  readonly certificateArn: string;
  /**
   * The ACM certificate of the public key domain (publicJwksDomainName), when there is one: the same rule.
   * @default - none
   */
  readonly publicJwksCertificateArn?: string | undefined;
  /**
   * Settings that carry placeholders (synth with `allowPlaceholders`): the template must not deploy.
   * @default - none
   */
  readonly placeholderSettings?: readonly string[];
}

/**
 * CloudFormation rules, checked before any resource is created or updated, for what synth cannot
 * know in an environment-agnostic app (the region) and for templates that must never deploy.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html
 */
export class DeployRules extends Construct {
  constructor(scope: Construct, id: string, props: DeployRulesProps) {
    super(scope, id);

    // API Gateway takes a Regional domain's certificate from ACM in the API's own region. Synth does
    // not know the region (no env), so the deploy checks it: a clear refusal instead of a
    // half-created stack rolling back from the domain. `Ref` may stand inside a rule's Fn::Equals
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-rules.html#supported-rule-functions),
    // and a pseudo parameter such as AWS::Region is used as a parameter is, as Ref's argument
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html).
    const certificates: [string, string, string | undefined][] = [
      ['CertificateInStackRegion', 'certificateArn', props.certificateArn],
      ['PublicJwksCertificateInStackRegion', 'publicJwksCertificateArn', props.publicJwksCertificateArn],
    ];
    for (const [ruleId, setting, arn] of certificates) {
      const certificateRegion = arn === undefined || Token.isUnresolved(arn) ? undefined : arn.split(':')[3];
      if (!certificateRegion) continue;
      new CfnRule(this, ruleId, {
        assertions: [
          {
            assert: Fn.conditionEquals(certificateRegion, Aws.REGION),
            assertDescription: `${setting} is an ACM certificate in ${certificateRegion}: deploy the stack to ${certificateRegion}, or use a certificate of the stack's region`,
          },
        ],
      });
    }

    if (props.placeholderSettings && props.placeholderSettings.length > 0) {
      Annotations.of(this).addWarningV2(
        'setpoll:placeholders',
        `Placeholders for ${props.placeholderSettings.join(', ')}: this template is for reading only, CloudFormation will refuse to deploy it.`,
      );
      new CfnRule(this, 'NoPlaceholders', {
        assertions: [
          {
            assert: Fn.conditionEquals('placeholders', 'configured'),
            assertDescription: `This template was synthesized with placeholders for ${props.placeholderSettings.join(', ')} (allowPlaceholders): configure them (docs/deploy.md) and synthesize again`,
          },
        ],
      });
    }
  }
}
