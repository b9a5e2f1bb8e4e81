import { request } from 'node:https';

/**
 * A fetch for jose's remote JWKS that trusts the dev CA, so the local stack verifies tokens against
 * its own authorization server over HTTPS the way the Lambda does against the bank's. The local
 * server asks every caller for a certificate, so the fetch can present one.
 */
export function fetchTrustingCa(ca: string, client?: { cert: string; key: string }) {
  return (url: string, options: { headers: Headers; signal: AbortSignal }): Promise<Response> =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: 'GET', ca, ...client, headers: Object.fromEntries(options.headers), signal: options.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}
