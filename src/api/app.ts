// Builds the HTTP application: identity at /identity/v3, networking at /v2.0, one port.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { publicUrl, type ServerConfig } from '../server-config.ts';
import type { Db } from '../store/db.ts';
import { IdentityService, identityOptions } from '../identity/service.ts';
import { registerIdentityRoutes } from './identity/routes.ts';
import { registerNetworkingRoutes } from './networking.ts';
import { keystoneAuthenticate, type Authenticate } from './keystone-auth.ts';
import { registerMetrics, type ServerMetrics } from './metrics.ts';
import { isWorkerProcess } from '../server-workers.ts';
import { handleClientError, handleError, neutronBody, serviceUnavailable } from './errors.ts';
import { newRequestId, registerRequestIdHeader, REQUEST_ID_LOG_LABEL } from './request-id.ts';
import { registerAccessLog } from './access-log.ts';
import { registerHealthcheck } from './healthcheck.ts';
import { NeutronError } from '../model/errors.ts';
import { connectionBounds, createBoundedServer } from './bounded-server.ts';
import { parseJsonBody } from './json-body.ts';
import { startNovaNotifier } from '../notify/nova-notifier.ts';
import type { NovaConfig } from '../server-config-nova.ts';

declare module 'fastify' {
  interface FastifyInstance {
    identityUrl: string;
  }
}

export interface AppDeps {
  config: ServerConfig;
  db: Db;
  logger?: FastifyBaseLogger | false;
}

export interface App {
  http: FastifyInstance;
  identity: IdentityService;
  metrics: ServerMetrics;
}

export async function buildApp({ config, db, logger = false }: AppDeps): Promise<App> {
  const http = Fastify({
    loggerInstance: logger || undefined,
    // Fastify's two lines per request cost more than the requests themselves: access-log.ts writes one.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: REQUEST_ID_LOG_LABEL }),
    genReqId: newRequestId,
    requestIdHeader: false,
    bodyLimit: config.maxRequestBodyBytes,
    serverFactory: (handler) => createBoundedServer(handler, connectionBounds(config)),
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    // Neutron accepts a `.json` suffix on every path.
    rewriteUrl: (req) => (req.url ?? '/').replace(/\.json(?=$|\?)/, ''),
    // Errors the framework raises before routing (bad URL encoding, over-long IDs) and on the socket
    // (timeouts, oversized headers) get the API's error body too, not Fastify's own.
    // handleError returns the (thenable) reply it sent; this hook expects nothing back.
    frameworkErrors: (err, request, reply) => void handleError(err, request, reply),
    clientErrorHandler: handleClientError,
    // Fastify's closing answer has its own body; the preClose/onRequest hooks below give Neutron's.
    return503OnClosing: false,
  });
  const base = publicUrl(config);
  // Where a 401 sends clients for a token (WWW-Authenticate): the built-in identity, or Keystone.
  http.decorate('identityUrl', config.keystone?.wwwAuthenticateUri ?? `${base}/identity/v3`);

  // Clients do not always send a JSON content type; every body is JSON here.
  http.removeAllContentTypeParsers();
  http.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  registerRequestIdHeader(http);
  registerAccessLog(http);
  http.setErrorHandler(handleError);
  let closing = false;
  http.addHook('preClose', async () => {
    closing = true;
  });
  http.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw serviceUnavailable();
  });
  http.setNotFoundHandler((request, reply) => {
    const e = new NeutronError(404, 'HTTPNotFound', 'The resource could not be found.');
    if (request.url.startsWith('/identity')) {
      return reply.status(404).send({ error: { code: 404, title: 'Not Found', message: e.message } });
    }
    return reply.status(404).send(neutronBody(e));
  });

  const identity = new IdentityService(db, identityOptions(config));
  registerHealthcheck(http, db);
  const authenticate: Authenticate = config.keystone
    ? keystoneAuthenticate(config.keystone, http.log)
    : (token) => identity.authenticateToken(token);
  const metrics = registerMetrics(http, { db, config, authenticate, inWorker: isWorkerProcess() });
  // Behind Keystone the built-in identity API is not served at all: its paths answer 404.
  if (!config.keystone) await registerIdentityRoutes(http, { identity, baseUrl: base });
  await registerNetworkingRoutes(http, { authenticate, db, config, baseUrl: base });
  if (config.nova) notifyNova(http, db, config.nova, config.gracefulShutdownTimeout);
  return { http, identity, metrics };
}

/** Nova's port events from this process's commits; what is queued at shutdown is sent within the shutdown bound. */
function notifyNova(http: FastifyInstance, db: Db, nova: NovaConfig, shutdownSeconds: number): void {
  const notifier = startNovaNotifier(db, nova, http.log);
  http.log.info({ authUrl: nova.authUrl, interval: nova.sendEventsInterval }, "Nova is notified of its instances' port events");
  http.addHook('onClose', async () => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownSeconds * 1000)));
    await Promise.race([notifier.close(), bound]);
    clearTimeout(timer);
  });
}
