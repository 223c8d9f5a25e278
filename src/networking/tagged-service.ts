// A resource service whose items carry their tags (TagPlugin._extend_tags_dict), and which takes tags
// in a create body where Neutron allows it (ports: tag-ports-during-bulk-creation).
import type { ResourceService } from './common.ts';
import { attributesRead } from '../model/query.ts';
import { addTags, attachTags, isTaggedTable } from './tags.ts';

export function withTags(service: ResourceService): ResourceService {
  const table = service.spec.plural;
  if (!isTaggedTable(table)) return service;
  return {
    ...service,
    list: async (tx, ctx, filters, read) => {
      const items = await service.list(tx, ctx, filters, read);
      return read && !read.has('tags') ? items : attachTags(tx, table, items);
    },
    listPage: service.listPage
      ? async (tx, ctx, q) => {
          const page = await service.listPage!(tx, ctx, q);
          const read = attributesRead(q);
          if (page && (!read || read.has('tags'))) await attachTags(tx, table, page.items);
          return page;
        }
      : undefined,
    show: async (tx, ctx, id) => (await attachTags(tx, table, [await service.show(tx, ctx, id)]))[0],
    create: async (tx, ctx, attrs) => {
      const { tags, ...rest } = attrs;
      const item = await service.create(tx, ctx, rest);
      // The tags go in with the resource, no revision of their own (process_create_port).
      if (Array.isArray(tags) && tags.length) await addTags(tx, table, item.id as string, tags as string[]);
      else return { ...item, tags: [] }; // a resource just created has no other tags
      return (await attachTags(tx, table, [item]))[0];
    },
    update: async (tx, ctx, id, attrs) => (await attachTags(tx, table, [await service.update(tx, ctx, id, attrs)]))[0],
  };
}
