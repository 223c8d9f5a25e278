// One compact info line per answered request: method, path (never the query string, which a careless
// client may fill with secrets), status, duration, the caller's project, and (from the request's
// logger) its request id. Headers and bodies are never logged.
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
  project?: string;
}

export function accessLogEntry(request: FastifyRequest, status: number, elapsedMs: number): AccessLogEntry {
  const q = request.url.indexOf('?');
  const entry: AccessLogEntry = {
    method: request.method,
    path: q < 0 ? request.url : request.url.slice(0, q),
    status,
    ms: Math.round(elapsedMs * 10) / 10,
  };
  const project = request.ctx?.projectId;
  if (project) entry.project = project;
  return entry;
}

export function registerAccessLog(http: FastifyInstance): void {
  http.addHook('onResponse', (request, reply, done) => {
    request.log.info(accessLogEntry(request, reply.statusCode, reply.elapsedTime), 'request');
    done();
  });
}
