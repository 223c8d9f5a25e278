// JSON over HTTPS with the TLS settings of a configuration section (keystoneauth's cafile,
// certfile, keyfile, insecure): the CA bundle the server's certificate must chain to, a client
// certificate to present, or no verification at all. Answers as fetchJson does.
import type https from 'node:https';
import { describeTlsFailure, type TlsSettings } from './tls-settings.ts';
import { readJsonReply, type JsonReply } from './http.ts';
import { explainFailure, NoAnswerError, UnreachableError, type ApiTarget } from './reach.ts';

// A CommonJS builtin, as node:http in http.ts: an ES import would load the bundled undici at start.
const { request: httpsRequest } = process.getBuiltinModule('node:https');

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
    const r = httpsRequest(url, opts, (res) => readJsonReply(res, resolve, reject));
    r.on('timeout', () => r.destroy(new NoAnswerError(timeoutMs)));
    r.on('error', (e) => {
      const tlsReason = describeTlsFailure(e);
      reject(tlsReason ? new UnreachableError(target, tlsReason) : explainFailure(e, target));
    });
    r.end(payload);
  });
}
