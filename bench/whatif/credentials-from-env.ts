/**
 * What-if for the bundle-size report (never used by the product): the DynamoDB client's default
 * credential chain replaced by the environment-variable provider alone. In Lambda the execution
 * role's credentials are always in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * so the rest of the chain (SSO, STS web identity, IMDS, ini files, login) is dead weight there.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
