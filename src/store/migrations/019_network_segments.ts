// Network segments (Neutron's networksegments): a network holds one or more segments, in order
// (segment_index), each a flat, VLAN or VXLAN segment with the standard attributes of the segment
// resource. The unique segment key moves with them, so one segment is still never given to two
// networks, whichever network holds it. Each network's segment, until now in the network's row,
// becomes its first segment.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../dialect.ts';

const MOVED = ['network_type', 'physical_network', 'segmentation_id', 'segment_key'];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('network_segments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .addColumn('network_type', 'text', (c) => c.notNull())
    .addColumn('physical_network', 'text')
    .addColumn('segmentation_id', 'integer')
    .addColumn('segment_key', 'text', (c) => c.notNull().unique())
    .addColumn('segment_index', 'integer', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('network_segments_network').on('network_segments').column('network_id').execute();

  const { rows } = await sql<{
    id: string;
    network_type: string;
    physical_network: string | null;
    segmentation_id: number | null;
    segment_key: string;
    created_at: string;
  }>`select id, network_type, physical_network, segmentation_id, segment_key, created_at from networks`.execute(db);
  for (const n of rows) {
    await sql`insert into network_segments
        (id, network_id, network_type, physical_network, segmentation_id, segment_key, segment_index, created_at, updated_at)
      values (${randomUUID()}, ${n.id}, ${n.network_type}, ${n.physical_network}, ${n.segmentation_id}, ${n.segment_key}, 0,
        ${n.created_at}, ${n.created_at})`.execute(db);
  }
  if (isPostgres(db)) {
    let drop = db.schema.alterTable('networks').dropColumn(MOVED[0]!);
    for (const c of MOVED.slice(1)) drop = drop.dropColumn(c);
    await drop.execute();
  } else {
    await rebuildSqliteNetworksWithout(db, MOVED);
  }
}

/**
 * SQLite drops no UNIQUE column: the table is rebuilt without the columns (SQLite's documented
 * twelve steps), with foreign keys off so that dropping the old table deletes nothing that refers
 * to it; the other tables' references name "networks" and find the new one.
 */
async function rebuildSqliteNetworksWithout(db: Kysely<unknown>, columns: string[]): Promise<void> {
  const { rows: defs } = await sql<{ type: string; sql: string }>`
    select type, sql from sqlite_master where tbl_name = 'networks' and sql is not null`.execute(db);
  const table = defs.find((d) => d.type === 'table')!.sql;
  let ddl = table.replace(/^create table "?networks"?/i, 'create table "networks_rebuilt"');
  for (const c of columns) ddl = ddl.replace(new RegExp(`,\\s*"?${c}"?\\s[^,)]*`, 'i'), '');
  if (columns.some((c) => ddl.includes(c))) throw new Error(`cannot drop ${columns.join(', ')} from: ${table}`);
  const { rows: cols } = await sql<{ name: string }>`select name from pragma_table_info('networks')`.execute(db);
  const kept = sql.join(cols.filter((c) => !columns.includes(c.name)).map((c) => sql.id(c.name)));
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql.raw(ddl).execute(db);
    await sql`insert into networks_rebuilt (${kept}) select ${kept} from networks`.execute(db);
    await sql`drop table networks`.execute(db);
    await sql`alter table networks_rebuilt rename to networks`.execute(db);
    for (const index of defs.filter((d) => d.type === 'index')) await sql.raw(index.sql).execute(db);
    const { rows: broken } = await sql`pragma foreign_key_check`.execute(db);
    if (broken.length) throw new Error(`foreign keys broken by the networks rebuild: ${JSON.stringify(broken)}`);
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}
