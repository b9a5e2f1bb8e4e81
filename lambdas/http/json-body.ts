import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidRequest, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType } from '../core/errors.ts';
import { inexactNumber } from './json-numbers.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function requireMethod(event: APIGatewayProxyEventV2, method: string): void {
  if (event.requestContext?.http?.method !== method) throw new MethodNotAllowed(method);
}

/**
 * Reads a JSON request body strictly: `application/json` (charset, if given, UTF-8), at most
 * `maxBytes`, valid UTF-8, valid JSON. Every failure is a 4xx naming what was wrong. With
 * `exactNumbers`, a number a double cannot hold exactly is a 400 too (see inexactNumber).
 */
export function parseJsonBody(event: APIGatewayProxyEventV2, maxBytes: number, options: { readonly exactNumbers?: boolean } = {}): unknown {
  const contentType = event.headers?.['content-type'];
  if (contentType === undefined) throw new UnsupportedMediaType('Content-Type must be application/json');
  const [mediaType, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (mediaType !== 'application/json') throw new UnsupportedMediaType('Content-Type must be application/json');
  for (const param of params) {
    if (param.startsWith('charset=') && !['utf-8', 'utf8', '"utf-8"'].includes(param.slice(8))) {
      throw new UnsupportedMediaType('The only supported charset is UTF-8');
    }
  }

  const raw = event.body ?? '';
  // Cheap bound first, so a huge body is refused before it is decoded.
  if (raw.length > (event.isBase64Encoded ? Math.ceil((maxBytes * 4) / 3) + 4 : maxBytes * 3)) {
    throw new PayloadTooLarge(`The request body must be at most ${maxBytes} bytes`);
  }
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBytes) throw new PayloadTooLarge(`The request body must be at most ${maxBytes} bytes`);
  if (bytes.length === 0) throw new InvalidRequest('The request body must be a JSON object');

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidRequest('The request body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequest('The request body is not valid JSON');
  }
  const inexact = options.exactNumbers === true ? inexactNumber(text) : undefined;
  if (inexact !== undefined) {
    throw new InvalidRequest(`The number ${inexact.slice(0, 40)} cannot be kept exactly (numbers are IEEE 754 doubles here): send it as a string`);
  }
  return parsed;
}
