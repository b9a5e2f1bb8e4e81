import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records a cdk-nag acknowledgement on one construct (and so only on the resources under it).
 * Every call site names the rule and a reason a security reviewer can check against the code.
 */
export function acknowledgeNag(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
