/**
 * THE price table: every dollar figure in the report comes from here. AWS list prices, us-east-1,
 * as of the date below; update the date with the numbers.
 */
export const PRICES = {
  asOf: '2026-11-23',
  region: 'us-east-1',
  /** DynamoDB on-demand, per write request unit. */
  dynamoWriteUnit: 0.625 / 1e6,
  /** DynamoDB on-demand, per read request unit. */
  dynamoReadUnit: 0.125 / 1e6,
  /** API Gateway HTTP API, per request (first 300 million a month; metered in 512 KB increments). */
  httpApiRequest: 1.0 / 1e6,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda arm64, per GB-second (first tier). */
  lambdaArmGbSecond: 0.0000133334,
  /** The poll function's configured memory (lib/constructs/poll-function.ts default). */
  lambdaMemoryGb: 512 / 1024,
  /** SQS standard queue, per request (a batch of up to 10 messages is one request, per 64 KB chunk). */
  sqsRequest: 0.4 / 1e6,
} as const;

/** Rows for the report's price table. */
export const PRICE_ROWS: readonly (readonly [string, string])[] = [
  ['DynamoDB on-demand write request unit', '$0.625 per million'],
  ['DynamoDB on-demand read request unit', '$0.125 per million'],
  ['API Gateway HTTP API request', '$1.00 per million'],
  ['Lambda request', '$0.20 per million'],
  ['Lambda arm64 duration', '$0.0000133334 per GB-second (512 MB configured: $0.0000066667 per second)'],
  ['SQS standard request (batch of ≤ 10)', '$0.40 per million'],
];
