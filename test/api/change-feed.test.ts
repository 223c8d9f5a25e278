// The change feed's window: the server keeps the newest N revisions; a watcher further behind gets
// 410 ChangeFeedRevisionExpired and the agent's watcher answers it with a full sync that converges.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startTestServer, ADMIN_PASSWORD, type TestServer } from '../helpers/server.ts';
import { adminToken, api, type Api } from '../helpers/client.ts';
import { expectError } from '../helpers/networking.ts';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { HostWatch } from '../../src/agent/host-watch.ts';

const WINDOW = 5;
let srv: TestServer;
let admin: Api;
let netId: string;

before(async () => {
  srv = await startTestServer({ changeFeedWindow: WINDOW });
  admin = api(srv.url, await adminToken(srv.url));
  netId = (await admin.post('/networks', { network: { name: 'feed' } })).body.network.id;
  await admin.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.9.0.0/24' } });
});
after(() => srv.close());

/** Head revision and the oldest one the feed still answers from (head itself when nothing older answers). */
async function window(): Promise<{ head: number; oldestAnswered: number }> {
  const head = (await admin.get('/neutrino/hosts/nowhere/view')).body.view.revision as number;
  let oldestAnswered = head;
  while (oldestAnswered > 0 && (await admin.get(`/neutrino/changes?since=${oldestAnswered - 1}`)).status === 200) oldestAnswered--;
  return { head, oldestAnswered };
}

const boundPort = (name: string) =>
  admin.post('/ports', {
    port: { network_id: netId, name, 'binding:host_id': 'feed-host', device_owner: 'compute:nova', device_id: name },
  });

test('the feed keeps a bounded window and answers a revision behind it with 410 naming the oldest revision held', async () => {
  for (let i = 0; i < 3 * WINDOW; i++)
    assert.equal((await admin.put(`/networks/${netId}`, { network: { description: `d${i}` } })).status, 200);
  const { head, oldestAnswered } = await window();
  // Compaction starts once N + N/10 revisions are held (N/10 rounds to 0 here): exactly the newest N are left.
  assert.equal(head - oldestAnswered, WINDOW);
  const page = (await admin.get(`/neutrino/changes?since=${oldestAnswered}`)).body;
  assert.equal(page.changes.length, WINDOW);
  assert.equal(page.revision, head);
  const oldestHeld = page.changes[0].revision;
  expectError(
    await admin.get(`/neutrino/changes?since=0`),
    410,
    'ChangeFeedRevisionExpired',
    `Revision 0 is older than the change feed holds: the oldest revision held is ${oldestHeld}. Re-read the host view and resume from its revision.`,
  );
  expectError(await admin.get(`/neutrino/changes?since=${oldestAnswered - 1}&wait=5`), 410, 'ChangeFeedRevisionExpired');
  // The refusal changed nothing: the same window answers.
  assert.deepEqual(await window(), { head, oldestAnswered });
});

test('an agent watcher left behind the window does a full sync, converges, then follows the feed again', async () => {
  const client = new NeutrinoClient({ url: srv.url }, { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' });
  const watch = new HostWatch(client, 'feed-host', pino({ level: 'silent' }));
  await watch.follow(0);
  const { lastSyncMs, ...counts } = watch.stats;
  assert.deepEqual(counts, { fullSyncs: 1, expired: 0, deltas: 0 });
  assert.ok(lastSyncMs >= 0, 'the full sync is timed');
  // length, not deepEqual: deepEqual's assertion signature would narrow the ports to never[] for the rest of the test
  assert.equal(watch.view!.ports.length, 0);

  // More writes than the window while the watcher is away: its revision is compacted past.
  const ids: string[] = [];
  for (let i = 0; i < 2 * WINDOW; i++) {
    const r = await boundPort(`behind-${i}`);
    assert.equal(r.status, 201);
    ids.push(r.body.port.id);
  }
  const expired = await admin.get(`/neutrino/changes?since=${watch.revision}`);
  assert.equal(expired.status, 410);

  await watch.follow(0);
  assert.deepEqual(
    { fullSyncs: watch.stats.fullSyncs, expired: watch.stats.expired, deltas: watch.stats.deltas },
    { fullSyncs: 2, expired: 1, deltas: 0 },
  );
  assert.deepEqual(watch.view!.ports.map((p) => p.id).sort(), ids.sort());
  assert.equal(watch.revision, (await window()).head);

  // Back inside the window: the next change arrives through the feed.
  const revisionBefore = watch.revision;
  await admin.put(`/networks/${netId}`, { network: { description: 'after' } });
  const statusOnly = await admin.post('/neutrino/hosts/feed-host/port-status', { ports: { [watch.view!.ports[0].id]: 'ACTIVE' } });
  assert.equal(statusOnly.status, 200);
  await watch.follow(0);
  assert.ok(watch.revision > revisionBefore);
  // The changes arrive as a delta of the view; nothing was missed, so no resync for being behind.
  assert.deepEqual(
    { fullSyncs: watch.stats.fullSyncs, expired: watch.stats.expired, deltas: watch.stats.deltas },
    { fullSyncs: 2, expired: 1, deltas: 1 },
  );
  assert.equal(watch.revision, (await window()).head);
});

test('clients in one process do not queue behind each other’s long-polls: each has its own connections', async () => {
  const creds = { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' };
  const head = (await admin.get('/neutrino/hosts/nowhere/view')).body.view.revision as number;
  // More waiting long-polls than one client's pool holds (8 connections).
  const stop = new AbortController();
  let answered = 0;
  const polls = Array.from({ length: 9 }, () =>
    new NeutrinoClient({ url: srv.url }, creds).changes(head, 30, stop.signal).then(
      () => answered++,
      () => undefined,
    ),
  );
  try {
    const view = await new NeutrinoClient({ url: srv.url }, creds).hostView('feed-host');
    assert.equal(view.revision, head);
    assert.equal(answered, 0, 'the view was answered while every long-poll still waited');
  } finally {
    stop.abort();
    await Promise.all(polls);
  }
});
