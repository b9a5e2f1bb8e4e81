/**
 * The producer API (`setpoll/producer`): queue signed SETs into a setpoll table from your own code.
 *
 *   const publisher = await createPublisher({ tableName, issuer, kmsKeyArn });   // or privateJwk
 *   await publisher.publish({ recipients: ['tpp-alpha'], events: { ... } });
 *   publisher.close();
 *
 * AWS credentials, region and endpoints come from the SDK's default chain (AWS_REGION,
 * AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB, ...) unless `region` is given.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JWK } from 'jose';
import { DynamoQueueStore } from '../store/dynamo-queue-store.ts';
import { KmsSigner } from './kms-signer.ts';
import { Publisher, type PublishInput, type PublishResult } from './publish.ts';
import { JwkSigner, assertAlgorithm, type SetAlgorithm, type SetSigner } from './signer.ts';

export { DEFAULT_SET_TTL_SECONDS, Publisher, type PublishInput, type PublishResult } from './publish.ts';
export { JwkSigner, type SetAlgorithm, type SetSigner } from './signer.ts';
export { KmsSigner } from './kms-signer.ts';

export interface PublisherConfig {
  /** The setpoll table (the stack's `TableName` output). */
  readonly tableName: string;
  /** The SETs' `iss`. */
  readonly issuer: string;
  /** Sign with this KMS key (the stack's `SigningKeyArn` output). Exactly one of kmsKeyArn and privateJwk. */
  readonly kmsKeyArn?: string;
  /** Sign with this private JWK (its public half registered with `setpoll keys register`). */
  readonly privateJwk?: JWK;
  /** The KMS key's algorithm. @default 'PS256' (a privateJwk names its own `alg`) */
  readonly alg?: SetAlgorithm;
  /** @default the SDK's default region chain */
  readonly region?: string;
  /** How long SETs stay queued unless a publish says otherwise. @default 7 days */
  readonly ttlSeconds?: number;
}

/** A Publisher over its own AWS clients; close() releases them. */
export interface SetPublisher {
  /** The kid of the key that signs (verifiable through the deployment's JWKS). */
  readonly kid: string;
  publish(input: PublishInput): Promise<PublishResult>;
  close(): void;
}

/** Builds a working publisher from a table name, an issuer and a key (KMS or private JWK). */
export async function createPublisher(config: PublisherConfig): Promise<SetPublisher> {
  if (!config.tableName) throw new TypeError('tableName is required');
  if ((config.kmsKeyArn === undefined) === (config.privateJwk === undefined)) throw new TypeError('Give exactly one of kmsKeyArn and privateJwk');
  const clientConfig = config.region ? { region: config.region } : {};
  let kms: KMSClient | undefined;
  let signer: SetSigner;
  if (config.kmsKeyArn !== undefined) {
    const alg = config.alg ?? 'PS256';
    assertAlgorithm(alg);
    kms = new KMSClient(clientConfig);
    try {
      signer = await KmsSigner.create({ kms, keyId: config.kmsKeyArn, alg });
    } catch (error) {
      kms.destroy();
      throw error;
    }
  } else {
    signer = await JwkSigner.fromJwk(config.privateJwk!);
  }
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig));
  const publisher = new Publisher({
    store: new DynamoQueueStore({ client, tableName: config.tableName }),
    signer,
    issuer: config.issuer,
    ...(config.ttlSeconds === undefined ? {} : { ttlSeconds: config.ttlSeconds }),
  });
  return {
    kid: signer.kid,
    publish: (input) => publisher.publish(input),
    close: () => {
      client.destroy();
      kms?.destroy();
    },
  };
}
