/**
 * The parts of a recipient wired together for the common case: one mTLS identity for the token
 * endpoint, the poll endpoint and the key set; tokens bound to it; SETs verified against the
 * transmitter's keys with this recipient as the audience. Then `new Poller({ ...recipient, handle })`.
 */
import type { JSONWebKeySet } from 'jose';
import { PollClient } from './poll-client.ts';
import { SetVerifier } from './set-verifier.ts';
import { ClientCredentialsTokenSource } from './token-source.ts';
import { mtlsTransport, type HttpTransport, type MtlsIdentity } from './transport.ts';

export interface RecipientOptions {
  readonly pollUrl: URL | string;
  readonly tokenUrl: URL | string;
  /** The transmitter's key set: its URL (setpoll: `<origin>/jwks.json`, behind mTLS) or the keys themselves. */
  readonly keys: URL | string | JSONWebKeySet;
  readonly clientId: string;
  /** The recipient's certificate and key, and the CAs trusted for the servers. */
  readonly identity: MtlsIdentity;
  /** The SETs' expected `iss`. */
  readonly issuer: string | readonly string[];
  /** The SETs' expected `aud`. @default clientId (what setpoll puts in `aud`) */
  readonly audience?: string | readonly string[];
  /** Token scope. @default the authorization server's default for the client */
  readonly scope?: string;
  readonly algorithms?: readonly string[];
  readonly clockToleranceSeconds?: number;
  /** Accept SETs only from these Data Providers (the `data_provider` claim); SETVerifierOptions.providers. */
  readonly providers?: readonly string[];
  /** Whether SETs naming no Data Provider (the transmitter's own) are accepted. @default true */
  readonly acceptDirect?: boolean;
  readonly eventTypes?: readonly string[];
  /** Content-Language of setErrs descriptions. @default 'en' */
  readonly language?: string;
  /** How long a poll may take; above the transmitter's long-poll wait. @default 60 000 */
  readonly pollTimeoutMs?: number;
  /** Wraps the mTLS transport, e.g. to log or to inject faults in a test. */
  readonly wrapTransport?: (transport: HttpTransport) => HttpTransport;
}

export interface Recipient {
  readonly clientId: string;
  readonly transport: HttpTransport;
  readonly tokens: ClientCredentialsTokenSource;
  readonly client: PollClient;
  readonly verifier: SetVerifier;
  /** Closes the kept-alive connections. */
  close(): void;
}

export function createRecipient(options: RecipientOptions): Recipient {
  const base = mtlsTransport(options.identity);
  const transport = options.wrapTransport ? options.wrapTransport(base) : base;
  const tokens = new ClientCredentialsTokenSource({
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    transport,
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  });
  const client = new PollClient({
    pollUrl: options.pollUrl,
    tokens,
    transport,
    ...(options.language === undefined ? {} : { language: options.language }),
    ...(options.pollTimeoutMs === undefined ? {} : { timeoutMs: options.pollTimeoutMs }),
  });
  const keys = typeof options.keys === 'string' ? new URL(options.keys) : options.keys;
  const verifier = new SetVerifier({
    keys,
    transport,
    issuer: options.issuer,
    audience: options.audience ?? options.clientId,
    ...(options.algorithms === undefined ? {} : { algorithms: options.algorithms }),
    ...(options.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: options.clockToleranceSeconds }),
    ...(options.eventTypes === undefined ? {} : { eventTypes: options.eventTypes }),
    ...(options.providers === undefined ? {} : { providers: options.providers }),
    ...(options.acceptDirect === undefined ? {} : { acceptDirect: options.acceptDirect }),
  });
  return { clientId: options.clientId, transport, tokens, client, verifier, close: () => base.close() };
}
