/** The setpoll recipient client: poll an RFC 8936 transmitter over mTLS, verify SETs, acknowledge them. */
export * from './errors.ts';
export { Backoff, sleep, type BackoffOptions } from './backoff.ts';
export { JtiCache } from './jti-cache.ts';
export { PollClient, pollRequestBody, type Answers, type PollClientOptions, type PollOptions, type PollResult } from './poll-client.ts';
export { Poller, DEFAULT_DEDUPE_SIZE, type AcknowledgeMode, type PollerOptions, type RunOptions } from './poller.ts';
export { createRecipient, type Recipient, type RecipientOptions } from './recipient.ts';
export { parseRetryAfter } from './retry-after.ts';
export {
  connectSsfStream,
  ssfDiscoveryUrl,
  SSF_MANAGE_SCOPE,
  SSF_POLL_DELIVERY,
  SSF_VERIFICATION_EVENT,
  type SsfMetadata,
  type SsfReceiver,
  type SsfReceiverOptions,
  type SsfStream,
} from './ssf-stream.ts';
export { SetVerifier, DEFAULT_ALGORITHMS, SET_TYP, type SetVerification, type SetVerifierOptions, type VerifiedSet } from './set-verifier.ts';
export { ClientCredentialsTokenSource, StaticTokenSource, type ClientCredentialsOptions, type TokenSource } from './token-source.ts';
export { mtlsTransport, type HttpRequest, type HttpResponse, type HttpTransport, type MtlsIdentity, type MtlsTransport, type MtlsTransportOptions } from './transport.ts';
