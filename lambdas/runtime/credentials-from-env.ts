/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only (esbuild alias, see
 * lib/constructs/function-defaults.ts). Lambda always hands a function its execution role's
 * credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, so the rest of the
 * default chain (SSO, ini files, web identity, IMDS, process, login) is dead weight there: about
 * 120 KiB of minified code to parse on every cold start. The local stack, the CLI and the tests run
 * the sources with the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
