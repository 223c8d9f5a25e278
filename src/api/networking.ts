// Networking v2.0 over HTTP: version discovery, token check, and the generic list/show/create/
// update/delete routes every resource shares (wrapping, bulk create, filters, fields, paging).
import { unitOfWork } from '../store/unit-of-work.ts';
import { readThreadsOf, withReader } from '../store/read-pool.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../server-config.ts';
import type { Db } from '../store/db.ts';
import type { Authenticate } from './keystone-auth.ts';
import type { AuthContext } from '../model/context.ts';
import { bulkItems, prepareCreate, prepareUpdate, visibleTo } from '../model/attributes.ts';
import { badRequest, NeutronError, notFound, unauthorized } from '../model/errors.ts';
import { itemRenderer } from '../model/item-render.ts';
import { applyListQuery, attributesRead, fieldsOf, pageLinks, parseListQuery, selectFields, type RawQuery } from '../model/query.ts';
import type { Item, ResourceService, Tx } from '../networking/common.ts';
import { enforceRevision, revisionConstraint } from './if-match.ts';
import { buildServices } from '../networking/index.ts';
import { registerExtraRoutes } from './networking-extra.ts';
import { listedExtensions } from '../networking/extensions.ts';
import { ChangeFeed } from '../networking/feed.ts';
import { listenForCommits } from '../store/listen.ts';
import { registerAgentRoutes } from './agent-routes.ts';
import { registerTagRoutes } from './tag-routes.ts';
import { nextTurn } from './turns.ts';
import { registerIpAvailabilityRoutes } from './ip-availability.ts';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: AuthContext;
  }
}

export interface NetworkingDeps {
  /** The built-in identity's token check, or Keystone's (auth_strategy). */
  authenticate: Authenticate;
  db: Db;
  config: ServerConfig;
  baseUrl: string;
}

export async function registerNetworkingRoutes(http: FastifyInstance, deps: NetworkingDeps): Promise<void> {
  const { db, baseUrl } = deps;
  http.decorateRequest('ctx', null as unknown as AuthContext);

  http.get('/', async (_req, reply) =>
    reply.send({ versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${baseUrl}/v2.0/`, rel: 'self' }] }] }),
  );

  const services = buildServices(deps.config);
  const feed = new ChangeFeed(db, deps.config.changeFeedWindow);
  await feed.compact();
  // Commits by other server processes on a shared database wake this process's watchers too.
  const listener = await listenForCommits(
    db,
    () => feed.notify(),
    (err) => http.log.warn({ err }, 'change feed listener: connection lost; reconnecting'),
  );
  // Shutting down: answer the long-polls now rather than hold the shutdown for their full wait.
  http.addHook('preClose', async () => feed.close());
  http.addHook('onClose', async () => listener.close());

  await http.register(
    async (v2) => {
      v2.addHook('onRequest', async (request: FastifyRequest) => {
        const token = request.headers['x-auth-token'];
        const ctx = typeof token === 'string' && token ? await deps.authenticate(token) : null;
        if (!ctx) throw unauthorized();
        request.ctx = ctx;
      });
      // Every write may have appended to the change feed: wake the watchers once it has committed.
      v2.addHook('onResponse', async (request) => {
        if (isWrite(request)) feed.notify();
      });
      // Compaction before the reply goes out, so a client that saw its write acknowledged also sees
      // the window it left behind; a failure costs nothing but a log line (the next one retries).
      v2.addHook('onSend', async (request, _reply, payload) => {
        if (isWrite(request)) await feed.afterWrite().catch((err: unknown) => request.log.error({ err }, 'change feed compaction failed'));
        return payload;
      });

      v2.get('/', async () => ({
        resources: services.map((s) => ({
          name: s.spec.singular,
          collection: s.spec.path ?? s.spec.plural,
          links: [{ href: `${baseUrl}/v2.0/${s.spec.path ?? s.spec.plural}`, rel: 'self' }],
        })),
      }));
      const extensions = listedExtensions(deps.config);
      v2.get('/extensions', async () => ({ extensions }));
      v2.get<{ Params: { alias: string } }>('/extensions/:alias', async (req) => {
        const ext = extensions.find((e) => e.alias === req.params.alias);
        if (!ext) throw notFound('HTTPNotFound', `Extension with alias ${req.params.alias} does not exist`);
        return { extension: ext };
      });

      for (const service of services) {
        registerResource(v2, service, db, baseUrl);
        registerTagRoutes(v2, service, db);
      }
      await registerExtraRoutes(v2, { db, config: deps.config, baseUrl });
      registerIpAvailabilityRoutes(v2, db, baseUrl);
      await registerAgentRoutes(v2, { db, config: deps.config, feed });
    },
    { prefix: '/v2.0' },
  );
}

const isWrite = (request: FastifyRequest) => request.method !== 'GET' && request.method !== 'HEAD';

function render(service: ResourceService, item: Item, ctx: AuthContext, fields: string[] | null): Item {
  return selectFields(visibleTo(service.spec, item, ctx), fields);
}

/** Items rendered and serialised per slice of a long list: each slice a turn of its own. */
const LIST_SLICE = 250;
const JSON_TYPE = 'application/json; charset=utf-8';

/** Texts (encoded here) and bytes joined once into one buffer of their exact length: a body sent whole, with its length. */
function oneBuffer(parts: ReadonlyArray<string | Uint8Array>): Buffer {
  const body = Buffer.allocUnsafe(parts.reduce((n, part) => n + (typeof part === 'string' ? Buffer.byteLength(part) : part.length), 0));
  let at = 0;
  for (const part of parts) {
    if (typeof part === 'string') at += body.write(part, at);
    else {
      body.set(part, at);
      at += part.length;
    }
  }
  return body;
}

/**
 * `{"<plural>": [...], ...links}`, LIST_SLICE items rendered at a time, each slice after a turn, so a
 * list of thousands never holds the event loop for longer than one slice; then sent in one write.
 */
async function jsonListInTurns(plural: string, items: Item[], render1: (it: Item) => Item, links: object): Promise<Buffer> {
  const parts = [`{${JSON.stringify(plural)}:[`];
  for (let i = 0; i < items.length; i += LIST_SLICE) {
    await nextTurn();
    const part = JSON.stringify(items.slice(i, i + LIST_SLICE).map(render1));
    parts.push((i ? ',' : '') + part.slice(1, -1));
  }
  const tail = JSON.stringify(links);
  parts.push(tail === '{}' ? ']}' : `],${tail.slice(1)}`);
  return oneBuffer(parts);
}

/** `{"<plural>": [...]}` from runs of items' JSON joined by commas (ResourceService.listJson), as one body. */
const jsonTextList = (plural: string, runs: ReadonlyArray<string | Uint8Array>): Buffer =>
  oneBuffer([`{${JSON.stringify(plural)}:[`, ...runs.flatMap((run, i) => (i ? [',', run] : [run])), ']}']);

/**
 * Runs a write under an If-Match revision constraint. As in Neutron, which checks when the write is
 * flushed, the write's own refusals (not found, policy, validation) come first; a stale revision
 * then rolls it back with a 412.
 */
async function constrained<T>(
  tx: Tx,
  service: ResourceService,
  ctx: AuthContext,
  id: string,
  expected: number | null,
  write: () => Promise<T>,
): Promise<T> {
  if (expected === null) return write();
  const { revision_number: current } = await service.show(tx, ctx, id);
  const out = await write();
  if (typeof current !== 'number')
    throw badRequest('Bad if-match request: Revision matching not supported for this resource.', 'BadRequest');
  enforceRevision(expected, current);
  return out;
}

function registerResource(v2: FastifyInstance, service: ResourceService, db: Db, baseUrl: string) {
  const { singular, plural } = service.spec;
  const segment = service.spec.path ?? plural;
  const collection = `/${segment}`;
  const member = `/${segment}/:id`;
  // GETs that only read run on a read-only connection: a long list then holds up no write.
  const reading = <T>(work: (tx: Tx) => Promise<T>, long = false): Promise<T> =>
    service.readOnlyGets ? withReader(db, (reader) => unitOfWork(reader, work), long) : unitOfWork(db, work);

  v2.get(collection, async (req, reply) => {
    const raw = req.query as RawQuery;
    const q = parseListQuery(service.spec, raw);
    const selfUrl = `${baseUrl}/v2.0/${segment}`;
    // A list may be long: its reading is one slice of work, taken in turn with the other long ones.
    if (q.limit === null || q.limit > LIST_SLICE) await nextTurn();
    const page = await reading(async (tx) => {
      const json =
        service.listJson && q.fields === null && q.limit === null
          ? await service.listJson(tx, req.ctx, q, { turn: nextTurn, threads: readThreadsOf(db) })
          : null;
      if (json) return { json };
      const paged = service.listPage ? await service.listPage(tx, req.ctx, q) : null;
      if (paged) return { items: paged.items, links: pageLinks(paged.items, q, paged.hasMore, paged.hasBefore, selfUrl, raw) };
      const all = await service.list(tx, req.ctx, q.filters, attributesRead(q));
      // With a limit the marker must be one the caller sees: Neutron's _get_<resource> answers NotFound.
      const needsMarker = q.limit !== null && q.marker !== null && !all.some((it) => it.id === q.marker);
      const markerItem = needsMarker ? await service.show(tx, req.ctx, q.marker as string) : undefined;
      return applyListQuery(service.spec, all, q, selfUrl, raw, markerItem);
    }, q.limit === null);
    if ('json' in page) {
      return reply.type(JSON_TYPE).send(jsonTextList(plural, page.json));
    }
    const links = page.links.length ? { [`${plural}_links`]: page.links } : {};
    const render1 = itemRenderer(service.spec, req.ctx, q.fields);
    if (page.items.length > LIST_SLICE) return reply.type(JSON_TYPE).send(await jsonListInTurns(plural, page.items, render1, links));
    return { [plural]: page.items.map(render1), ...links };
  });

  v2.get<{ Params: { id: string } }>(member, async (req) => {
    const item = await reading((tx) => service.show(tx, req.ctx, req.params.id));
    return { [singular]: render(service, item, req.ctx, fieldsOf(req.query as RawQuery)) };
  });

  v2.post(collection, async (req, reply) => {
    const items = bulkItems(service.spec, req.body);
    if (items) {
      // Bulk create: all or nothing, in one transaction.
      const created = await unitOfWork(db, async (tx) => {
        const out: Item[] = [];
        for (const one of items) out.push(await service.create(tx, req.ctx, prepareCreate(service.spec, one, req.ctx)));
        return out;
      });
      return reply.status(201).send({ [plural]: created.map((it) => render(service, it, req.ctx, null)) });
    }
    const attrs = prepareCreate(service.spec, req.body, req.ctx);
    const item = await unitOfWork(db, (tx) => service.create(tx, req.ctx, attrs));
    return reply.status(201).send({ [singular]: render(service, item, req.ctx, null) });
  });

  v2.put<{ Params: { id: string } }>(member, async (req) => {
    let attrs: Item;
    try {
      attrs = prepareUpdate(service.spec, req.body, req.ctx);
    } catch (e) {
      // Neutron fetches the resource before enforcing the update policy: an attribute the caller may
      // not set on a resource it cannot see is that resource's 404, never a 403 naming the rule.
      if (e instanceof NeutronError && e.status === 403) await unitOfWork(db, (tx) => service.show(tx, req.ctx, req.params.id));
      throw e;
    }
    const expected = revisionConstraint(req.headers['if-match']);
    const item = await unitOfWork(db, (tx) =>
      constrained(tx, service, req.ctx, req.params.id, expected, () => service.update(tx, req.ctx, req.params.id, attrs)),
    );
    return { [singular]: render(service, item, req.ctx, null) };
  });

  v2.delete<{ Params: { id: string } }>(member, async (req, reply) => {
    const expected = revisionConstraint(req.headers['if-match']);
    await unitOfWork(db, (tx) =>
      constrained(tx, service, req.ctx, req.params.id, expected, () => service.remove(tx, req.ctx, req.params.id)),
    );
    return reply.status(204).send();
  });
}
