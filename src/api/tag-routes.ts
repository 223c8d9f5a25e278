// The tags sub-resource of every taggable resource (neutron/extensions/tagging.py TaggingController):
// GET/PUT/POST/DELETE /v2.0/{resources}/{id}/tags and GET/PUT/DELETE …/tags/{tag}. A resource the caller
// cannot see is its NotFound; changing the tags of one it sees but does not own is the policy's 403.
import type { FastifyInstance } from 'fastify';
import { unitOfWork } from '../store/unit-of-work.ts';
import type { Db } from '../store/db.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, invalidInput, notFound, policyDenied } from '../model/errors.ts';
import { isString, isUniqueStringList } from '../model/validators.ts';
import { recordChange, type ResourceService, type Tx } from '../networking/common.ts';
import {
  addTags,
  bumpRevision,
  isTaggedTable,
  MAX_TAG_LEN,
  MAX_TAGS_COUNT,
  removeTags,
  replaceTags,
  tagsOf,
  type TaggedTable,
} from '../networking/tags.ts';
import { unrepresentable } from './json-body.ts';

/** validate_tag: a path's tag is a string of at most MAX_TAG_LEN characters (and storable). */
function validateTag(tag: string): void {
  const why = isString(MAX_TAG_LEN)(tag) ?? unrepresentable(tag);
  if (why) throw invalidInput(why);
}

/** validate_tags: the body is {"tags": [unique strings]}. */
function validateTagsBody(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Object.hasOwn(body, 'tags')) {
    throw invalidInput('Invalid tags body');
  }
  const tags = (body as { tags: unknown }).tags;
  const why = isUniqueStringList(MAX_TAG_LEN)(tags);
  if (why) throw invalidInput(why);
  return tags as string[];
}

/** validate_tags_limit: at most MAX_TAGS_COUNT distinct tags. */
function validateTagsLimit(table: TaggedTable, tags: string[]): void {
  if (new Set(tags).size > MAX_TAGS_COUNT) {
    throw badRequest(`Bad ${table} request: The number of tags exceed the per-resource limit of ${MAX_TAGS_COUNT}.`, 'BadRequest');
  }
}

const tagNotFound = (tag: string) => notFound('TagNotFound', `Tag ${tag} could not be found.`);

export function registerTagRoutes(v2: FastifyInstance, service: ResourceService, db: Db): void {
  const table = service.spec.plural;
  if (!isTaggedTable(table)) return;
  const { singular } = service.spec;
  const tags = `/${service.spec.path ?? table}/:id/tags`;
  // A wildcard, not a parameter: the router refuses parameters beyond 100 characters, tags go to 255.
  const oneTag = `${tags}/*`;
  type Params = { Params: { id: string; '*': string } };

  /** The resource as the caller sees it (its NotFound otherwise), checked for `action` on its tags. */
  async function resource(tx: Tx, ctx: AuthContext, id: string, action: 'get' | 'create' | 'update' | 'delete') {
    const item = await service.show(tx, ctx, id);
    if (action !== 'get' && !ctx.isAdmin && item.project_id !== ctx.projectId) throw policyDenied(`${action}_${singular}:tags`);
    return item;
  }

  /** A change of tags revises the resource and is an update in the change feed. */
  async function changed(tx: Tx, item: Record<string, unknown>) {
    await bumpRevision(tx, table as TaggedTable, item.id as string);
    await recordChange(tx, singular, item.id as string, 'update', item.project_id as string);
  }

  v2.get<Params>(tags, async (req) =>
    unitOfWork(db, async (tx) => {
      await resource(tx, req.ctx, req.params.id, 'get');
      return { tags: await tagsOf(tx, table, req.params.id) };
    }),
  );

  v2.get<Params>(oneTag, async (req, reply) => {
    validateTag(req.params['*']);
    await unitOfWork(db, async (tx) => {
      await resource(tx, req.ctx, req.params.id, 'get');
      if (!(await tagsOf(tx, table, req.params.id)).includes(req.params['*'])) throw tagNotFound(req.params['*']);
    });
    return reply.status(204).send();
  });

  // tag-creation: adds the body's tags to those there (the limit counts the body's only, as Neutron's).
  v2.post<Params>(tags, async (req, reply) => {
    const wanted = validateTagsBody(req.body);
    await unitOfWork(db, async (tx) => {
      const item = await resource(tx, req.ctx, req.params.id, 'create');
      validateTagsLimit(table, wanted);
      if (await addTags(tx, table, req.params.id, wanted)) await changed(tx, item);
    });
    return reply.status(201).send({ tags: wanted });
  });

  v2.put<Params>(tags, async (req) => {
    const wanted = validateTagsBody(req.body);
    await unitOfWork(db, async (tx) => {
      const item = await resource(tx, req.ctx, req.params.id, 'update');
      validateTagsLimit(table, wanted);
      if (await replaceTags(tx, table, req.params.id, wanted)) await changed(tx, item);
    });
    return { tags: wanted };
  });

  v2.put<Params>(oneTag, async (req, reply) => {
    const tag = req.params['*'];
    validateTag(tag);
    await unitOfWork(db, async (tx) => {
      const item = await resource(tx, req.ctx, req.params.id, 'update');
      validateTagsLimit(table, [...(await tagsOf(tx, table, req.params.id)), tag]);
      if (await addTags(tx, table, req.params.id, [tag])) await changed(tx, item);
    });
    return reply.status(201).send();
  });

  v2.delete<Params>(tags, async (req, reply) => {
    await unitOfWork(db, async (tx) => {
      const item = await resource(tx, req.ctx, req.params.id, 'delete');
      if (await removeTags(tx, table, req.params.id, null)) await changed(tx, item);
    });
    return reply.status(204).send();
  });

  v2.delete<Params>(oneTag, async (req, reply) => {
    const tag = req.params['*'];
    validateTag(tag);
    await unitOfWork(db, async (tx) => {
      const item = await resource(tx, req.ctx, req.params.id, 'delete');
      if (!(await removeTags(tx, table, req.params.id, [tag]))) throw tagNotFound(tag);
      await changed(tx, item);
    });
    return reply.status(204).send();
  });
}
