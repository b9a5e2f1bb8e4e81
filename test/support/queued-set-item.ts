/**
 * The queued-SET item contract for tests: the JSON Schema (docs/schema/queued-set-item.schema.json),
 * the rules it cannot state, and the test vectors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';

const SCHEMA_DIR = join(import.meta.dirname, '../../docs/schema');

/** An item in DynamoDB JSON. */
export type DynamoJsonItem = Record<string, Record<string, string>>;

export interface Vectors {
  readonly jwks: JSONWebKeySet;
  readonly valid: readonly { name: string; item: DynamoJsonItem }[];
  readonly invalid: readonly { name: string; violates: 'schema' | 'semantic'; rule?: string; item: DynamoJsonItem }[];
}

export const vectors = JSON.parse(readFileSync(join(SCHEMA_DIR, 'queued-set-item.vectors.json'), 'utf8')) as Vectors;
const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, 'queued-set-item.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

/** Schema errors as `path message`, empty when the item conforms. */
export function schemaErrors(item: unknown): string[] {
  return validate(item) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/** The rules the schema cannot state (named as in the vectors), each broken one listed. */
export async function semanticViolations(item: DynamoJsonItem, jwks: JSONWebKeySet): Promise<string[]> {
  const broken: string[] = [];
  const jti = item.jti!.S!;
  const set = item.set!.S!;
  if (item.sk!.S !== `S#${jti}`) broken.push('sk-is-jti');
  if (decodeProtectedHeader(set).typ !== 'secevent+jwt') broken.push('typ');
  try {
    await compactVerify(set, createLocalJWKSet(jwks));
  } catch {
    broken.push('signature');
  }
  const claims = decodeJwt(set);
  if (claims.jti !== jti) broken.push('jti-claim');
  const recipient = item.pk!.S!.slice('Q#'.length);
  const aud = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!aud.includes(recipient)) broken.push('aud-names-recipient');
  return broken;
}
