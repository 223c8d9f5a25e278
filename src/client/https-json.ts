// JSON over HTTPS with the TLS settings of a configuration section (keystoneauth's cafile,
// certfile, keyfile, insecure): the CA bundle the server's certificate must chain to, a client
// certificate to present, or no verification at all. Answers as fetchJson does.
import https from 'node:https';
import { describeTlsFailure, type TlsSettings } from './tls-settings.js';
import type { JsonReply } from './http.js';
import { explainFailure, NoAnswerError, UnreachableError, type ApiTarget } from './reach.js';

export interface HttpsJsonRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export function httpsJson(url: string, req: HttpsJsonRequest, timeoutMs: number, target: ApiTarget, tls: TlsSettings): Promise<JsonReply> {
  const payload = req.body === undefined ? undefined : Buffer.from(req.body);
  const headers = { ...req.headers, ...(payload ? { 'content-length': String(payload.length) } : {}) };
  const opts: https.RequestOptions = {
    method: req.method,
    headers,
    timeout: timeoutMs,
    rejectUnauthorized: tls.verify,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
  };
  return new Promise((resolve, reject) => {
    const r = https.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON: keep the text */
        }
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers: h, body });
      });
    });
    r.on('timeout', () => r.destroy(new NoAnswerError(timeoutMs)));
    r.on('error', (e) => {
      const tlsReason = describeTlsFailure(e);
      reject(tlsReason ? new UnreachableError(target, tlsReason) : explainFailure(e, target));
    });
    r.end(payload);
  });
}
