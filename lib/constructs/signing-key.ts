import { Lazy, type RemovalPolicy, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { RETAINED } from './removal.ts';
import { ConfigError } from './validation.ts';

import { DEFAULT_SET_ALGORITHM, SET_ALGORITHMS, type SetAlgorithm } from '../../lambdas/contract.ts';

/** JWS algorithms setpoll signs SETs with, and the OB profile's PS256 (lambdas/contract.ts). */
export const SIGNING_ALGORITHMS = SET_ALGORITHMS;
export type SigningAlgorithm = SetAlgorithm;
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = DEFAULT_SET_ALGORITHM;

/** The KMS key spec each algorithm needs: RSA for PS256/RS256, NIST P-256 for ES256. */
export const SIGNING_KEY_SPECS: Readonly<Record<SigningAlgorithm, kms.KeySpec>> = Object.freeze({
  PS256: kms.KeySpec.RSA_2048,
  RS256: kms.KeySpec.RSA_2048,
  ES256: kms.KeySpec.ECC_NIST_P256,
});

/** What a SET signer needs: sign, and read the public half for /jwks.json and the kid. Nothing else. */
export const SIGNING_KEY_ACTIONS: readonly string[] = Object.freeze(['kms:Sign', 'kms:GetPublicKey']);

/** A key ARN (not an alias: IAM grants on an alias ARN do not cover kms:Sign on the key). */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

export interface SigningKeyProps {
  /**
   * The JWS algorithm of the SETs; selects the key spec of a created key.
   * @default 'PS256'
   */
  readonly algorithm?: SigningAlgorithm;
  /**
   * An existing asymmetric SIGN_VERIFY key to use instead of creating one. Its key spec must
   * suit `algorithm` (RSA for PS256/RS256, ECC_NIST_P256 for ES256): the management handler
   * checks the key's signing algorithms when it starts and refuses a key that does not.
   * @default - a new key
   */
  readonly keyArn?: string;
  /**
   * What happens to a created key when it leaves the stack.
   * @default RETAINED (RetainExceptOnCreate): recipients verify SETs still queued against its public key
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The asymmetric KMS key that signs SETs. The private key never leaves KMS; the management
 * handler publishes the public half at /jwks.json.
 *
 * No automatic rotation: KMS cannot rotate asymmetric keys. Rotate by deploying with a new
 * `keyArn` (or a new key) once recipients have fetched the new JWKS.
 *
 * Only the roles given grantSign may sign with a created key: its key policy denies kms:Sign to
 * every other principal, the account's administrators included. KMS's default key policy lets
 * IAM policies grant access ("Allows access to the AWS account and enables IAM policies"), so
 * without the Deny any principal of the account with `kms:Sign` on `*` could make SETs recipients
 * trust. An existing key (`keyArn`) keeps its own policy: give it the same statement.
 */
export class SigningKey extends Construct {
  public readonly key: kms.IKey;
  public readonly algorithm: SigningAlgorithm;
  /** The key spec of a created key; undefined for an existing key. */
  public readonly keySpec?: kms.KeySpec;
  /** ARNs of the roles allowed to sign (grantSign). */
  readonly #signers: string[] = [];

  constructor(scope: Construct, id: string, props: SigningKeyProps = {}) {
    super(scope, id);
    const algorithm: unknown = props.algorithm ?? DEFAULT_SIGNING_ALGORITHM;
    if (!isSigningAlgorithm(algorithm)) {
      throw new ConfigError(`signingAlg must be one of ${SIGNING_ALGORITHMS.join(', ')} (got ${JSON.stringify(algorithm)})`);
    }
    this.algorithm = algorithm;

    if (props.keyArn !== undefined) {
      if (!Token.isUnresolved(props.keyArn) && !KMS_KEY_ARN.test(props.keyArn)) {
        throw new ConfigError(`signingKeyArn must be a KMS key ARN, not an alias or key id (got ${JSON.stringify(props.keyArn)})`);
      }
      this.key = kms.Key.fromKeyArn(this, 'Key', props.keyArn);
      return;
    }

    this.keySpec = SIGNING_KEY_SPECS[algorithm];
    this.key = new kms.Key(this, 'Key', {
      description: `setpoll SET signing key (${algorithm})`,
      keySpec: this.keySpec,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Deleting the key would leave queued SETs unverifiable and the JWKS empty.
      removalPolicy: props.removalPolicy ?? RETAINED,
    });
    // aws:PrincipalArn of an assumed-role session is the role's ARN (IAM global condition keys).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheSetSignersSign',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.#signers }) } },
      }),
    );
    this.node.addValidation({ validate: () => (this.#signers.length === 0 ? ['No role may sign with the SET signing key: call grantSign'] : []) });
  }

  /** Exactly kms:Sign and kms:GetPublicKey, on this key only; the grantee's role is added to the key policy's signers. */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    const role = grantee.grantPrincipal;
    if (!(role instanceof iam.Role) && !iam.Role.isRole(role)) throw new Error('grantSign needs a role (the function\'s or a producer\'s)');
    this.#signers.push(role.roleArn);
    return this.key.grant(grantee, ...SIGNING_KEY_ACTIONS);
  }
}
