import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Runs the AWS Solutions rule pack on every synth. cdk-nag v3 is a policy validation plugin:
 * an unacknowledged finding fails synthesis (thrown in-process, exit code 1 under the CLI).
 * Acknowledgements live next to the resources they concern, in lib/constructs/.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
