// Groups in the built-in identity, as Keystone has them: administration (admin only), membership,
// roles of groups on projects that members hold in their tokens, the role_assignments view of them
// (and its effective expansion), and the tokens and application credentials a member loses with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminToken, api, memberProject, request, type Reply } from '../helpers/client.ts';

const roleNames = (r: Reply) => r.body.token.roles.map((x: { name: string }) => x.name).sort();
const ids = (list: Array<{ id: string }>) => list.map((x) => x.id);

test('groups: administration, membership and their refusals', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const v3 = `${srv.url}/identity/v3`;
  const admin = await adminToken(srv.url);
  const { token: member } = await memberProject(srv.url, admin, 'plain');
  const me = (await request(`${v3}/auth/tokens`, 'GET', member, undefined, { 'x-subject-token': member })).body.token.user.id;

  const made = await request(`${v3}/groups`, 'POST', admin, { group: { name: 'ops', description: 'operators' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const ops = made.body.group;
  assert.deepEqual(
    { ...ops, id: undefined, links: undefined },
    { id: undefined, name: 'ops', domain_id: 'default', description: 'operators', links: undefined },
  );
  assert.equal(ops.links.self, `${v3}/groups/${ops.id}`);
  const dup = await request(`${v3}/groups`, 'POST', admin, { group: { name: 'ops', domain_id: 'default' } });
  assert.equal(dup.status, 409);
  assert.equal(
    dup.body.error.message,
    'Conflict occurred attempting to store group - Duplicate entry found with name ops at domain ID default.',
  );
  const devs = (await request(`${v3}/groups`, 'POST', admin, { group: { name: 'devs' } })).body.group;
  assert.equal(devs.description, '');
  assert.equal((await request(`${v3}/groups`, 'POST', admin, { group: { name: 'x', domain_id: 'nowhere' } })).status, 404);
  assert.equal((await request(`${v3}/groups`, 'POST', admin, { group: { name: 'x', colour: 'red' } })).status, 400);
  assert.equal((await request(`${v3}/groups`, 'POST', admin, { group: {} })).status, 400);

  assert.deepEqual(ids((await request(`${v3}/groups`, 'GET', admin)).body.groups), [devs.id, ops.id]);
  assert.deepEqual(ids((await request(`${v3}/groups?name=ops`, 'GET', admin)).body.groups), [ops.id]);
  assert.deepEqual(ids((await request(`${v3}/groups?domain_id=default&name=devs`, 'GET', admin)).body.groups), [devs.id]);
  assert.deepEqual((await request(`${v3}/groups?domain_id=other`, 'GET', admin)).body.groups, []);
  assert.deepEqual((await request(`${v3}/groups/${ops.id}`, 'GET', admin)).body.group, ops);
  const missing = await request(`${v3}/groups/${'f'.repeat(32)}`, 'GET', admin);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.message, `Could not find group: ${'f'.repeat(32)}.`);

  const renamed = await request(`${v3}/groups/${devs.id}`, 'PATCH', admin, { group: { name: 'developers', description: 'builders' } });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.group.name, 'developers');
  assert.equal(renamed.body.group.description, 'builders');
  assert.equal((await request(`${v3}/groups/${devs.id}`, 'PATCH', admin, { group: { name: 'ops' } })).status, 409);
  const moved = await request(`${v3}/groups/${devs.id}`, 'PATCH', admin, { group: { domain_id: 'other' } });
  assert.equal(moved.status, 400);
  assert.equal(moved.body.error.message, 'Cannot change Domain ID');

  // Membership.
  const users = (await request(`${v3}/users?name=plain`, 'GET', admin)).body.users;
  const member1 = `${v3}/groups/${ops.id}/users/${me}`;
  assert.equal((await request(member1, 'HEAD', admin)).status, 404);
  assert.equal((await request(member1, 'PUT', admin)).status, 204);
  assert.equal((await request(member1, 'PUT', admin)).status, 204, 'adding twice is fine');
  assert.equal((await request(member1, 'HEAD', admin)).status, 204);
  assert.deepEqual(ids((await request(`${v3}/groups/${ops.id}/users`, 'GET', admin)).body.users), ids(users));
  assert.deepEqual((await request(`${v3}/groups/${devs.id}/users`, 'GET', admin)).body.users, []);
  assert.deepEqual(ids((await request(`${v3}/users/${me}/groups`, 'GET', admin)).body.groups), [ops.id]);
  assert.equal((await request(`${v3}/groups/${ops.id}/users/${'e'.repeat(32)}`, 'PUT', admin)).status, 404);
  assert.equal((await request(`${v3}/groups/${'e'.repeat(32)}/users/${me}`, 'PUT', admin)).status, 404);
  const notIn = await request(`${v3}/groups/${devs.id}/users/${me}`, 'DELETE', admin);
  assert.equal(notIn.status, 404);
  assert.equal(notIn.body.error.message, `User '${me}' not found in group '${devs.id}'`);

  // A user may list its own groups; everything else is the admin's.
  const own = await request(`${v3}/users/${me}/groups`, 'GET', member);
  assert.equal(own.status, 200);
  assert.deepEqual(ids(own.body.groups), [ops.id]);
  const adminId = (await request(`${v3}/users?name=admin`, 'GET', admin)).body.users[0].id;
  const refusals: Array<[string, string, unknown?]> = [
    [`${v3}/users/${adminId}/groups`, 'GET'],
    [`${v3}/groups`, 'POST', { group: { name: 'mine' } }],
    [`${v3}/groups`, 'GET'],
    [`${v3}/groups/${ops.id}`, 'GET'],
    [`${v3}/groups/${ops.id}`, 'PATCH', { group: { name: 'mine' } }],
    [`${v3}/groups/${ops.id}`, 'DELETE'],
    [`${v3}/groups/${ops.id}/users`, 'GET'],
    [`${v3}/groups/${devs.id}/users/${me}`, 'PUT'],
    [member1, 'HEAD'],
    [member1, 'DELETE'],
  ];
  for (const [url, method, body] of refusals) {
    const r = await request(url, method, member, body);
    assert.equal(r.status, 403, `${method} ${url}`);
    if (method !== 'HEAD') assert.match(r.body.error.message, /^You are not authorized to perform the requested action: identity:/);
  }
  assert.equal((await request(`${v3}/groups`, 'GET', null)).status, 401);

  assert.equal((await request(member1, 'DELETE', admin)).status, 204);
  assert.deepEqual((await request(`${v3}/users/${me}/groups`, 'GET', admin)).body.groups, []);
  assert.equal((await request(`${v3}/groups/${devs.id}`, 'DELETE', admin)).status, 204);
  assert.equal((await request(`${v3}/groups/${devs.id}`, 'GET', admin)).status, 404);
  assert.equal((await request(`${v3}/groups/${devs.id}`, 'DELETE', admin)).status, 404);
});

test('groups: roles on projects are the members’, and go with the membership, the grant or the group', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const v3 = `${srv.url}/identity/v3`;
  const admin = await adminToken(srv.url);
  const { projectId } = await memberProject(srv.url, admin, 'team');
  const user = (await request(`${v3}/users`, 'POST', admin, { user: { name: 'carol', password: 'carol-pw' } })).body.user;
  const roleId = (name: string) => request(`${v3}/roles?name=${name}`, 'GET', admin).then((r) => r.body.roles[0].id as string);
  const [memberRole, readerRole] = [await roleId('member'), await roleId('reader')];
  const group = (await request(`${v3}/groups`, 'POST', admin, { group: { name: 'team-members' } })).body.group;
  const grant = (role: string) => `${v3}/projects/${projectId}/groups/${group.id}/roles/${role}`;
  const membership = `${v3}/groups/${group.id}/users/${user.id}`;
  const login = () =>
    request(`${v3}/auth/tokens`, 'POST', null, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'carol', domain: { id: 'default' }, password: 'carol-pw' } } },
        scope: { project: { id: projectId } },
      },
    });

  // Without a role, no token for the project.
  assert.equal((await login()).status, 401);
  assert.equal((await request(membership, 'PUT', admin)).status, 204);
  assert.equal((await login()).status, 401, 'a member of a group without roles has none');

  // The group's grant: refusals, then the grant itself.
  assert.equal((await request(grant(memberRole), 'HEAD', admin)).status, 404);
  assert.equal((await request(grant('f'.repeat(32)), 'PUT', admin)).status, 404);
  assert.equal((await request(`${v3}/projects/${'f'.repeat(32)}/groups/${group.id}/roles/${memberRole}`, 'PUT', admin)).status, 404);
  const noGroup = await request(`${v3}/projects/${projectId}/groups/${'f'.repeat(32)}/roles/${memberRole}`, 'PUT', admin);
  assert.equal(noGroup.status, 404);
  assert.equal(noGroup.body.error.message, `Could not find group: ${'f'.repeat(32)}.`);
  const { token: outsider } = await memberProject(srv.url, admin, 'outsider');
  assert.equal((await request(grant(memberRole), 'PUT', outsider)).status, 403);
  assert.equal((await request(`${v3}/projects/${projectId}/groups/${group.id}/roles`, 'GET', outsider)).status, 403);
  assert.equal((await request(grant(memberRole), 'PUT', admin)).status, 204);
  assert.equal((await request(grant(memberRole), 'HEAD', admin)).status, 204);
  assert.equal((await request(grant(memberRole), 'HEAD', outsider)).status, 403);
  assert.deepEqual(ids((await request(`${v3}/projects/${projectId}/groups/${group.id}/roles`, 'GET', admin)).body.roles), [memberRole]);
  assert.deepEqual((await request(`${v3}/projects/${projectId}/users/${user.id}/roles`, 'GET', admin)).body.roles, [], 'no direct grant');

  // The member logs in with the group's role (and the one it implies) and works in the project.
  const first = await login();
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.deepEqual(roleNames(first), ['member', 'reader']);
  const token = first.headers.get('x-subject-token')!;
  assert.equal((await api(srv.url, token).get('/networks')).status, 200);
  const projects = await request(`${v3}/users/${user.id}/projects`, 'GET', token);
  assert.deepEqual(ids(projects.body.projects), [projectId]);

  // role_assignments: the group's assignment, and effective, the member's through it.
  const listed = await request(`${v3}/role_assignments?scope.project.id=${projectId}&role.id=${memberRole}`, 'GET', admin);
  const groupEntry = listed.body.role_assignments.find((a: { group?: unknown }) => a.group);
  assert.deepEqual(groupEntry, {
    links: { assignment: `${v3}/projects/${projectId}/groups/${group.id}/roles/${memberRole}` },
    role: { id: memberRole },
    scope: { project: { id: projectId } },
    group: { id: group.id },
  });
  assert.equal(listed.body.role_assignments.length, 2, 'the project owner’s own grant and the group’s');
  const byGroup = await request(`${v3}/role_assignments?group.id=${group.id}&include_names`, 'GET', admin);
  assert.deepEqual(byGroup.body.role_assignments[0].group, {
    id: group.id,
    name: 'team-members',
    domain: { id: 'default', name: 'Default' },
  });
  assert.deepEqual((await request(`${v3}/role_assignments?user.id=${user.id}`, 'GET', admin)).body.role_assignments, []);
  const effective = await request(`${v3}/role_assignments?user.id=${user.id}&effective`, 'GET', admin);
  assert.deepEqual(effective.body.role_assignments, [
    {
      links: {
        assignment: `${v3}/projects/${projectId}/groups/${group.id}/roles/${memberRole}`,
        membership: `${v3}/groups/${group.id}/users/${user.id}`,
      },
      role: { id: memberRole },
      scope: { project: { id: projectId } },
      user: { id: user.id },
    },
  ]);
  const all = await request(`${v3}/role_assignments?effective&scope.project.id=${projectId}`, 'GET', admin);
  assert.ok(
    all.body.role_assignments.every((a: { user?: unknown }) => a.user),
    'effective: no group entries',
  );
  const both = await request(`${v3}/role_assignments?user.id=${user.id}&group.id=${group.id}`, 'GET', admin);
  assert.equal(both.status, 400);
  assert.equal(both.body.error.message, 'Specify a user or group, not both');
  const effGroup = await request(`${v3}/role_assignments?effective&group.id=${group.id}`, 'GET', admin);
  assert.equal(effGroup.status, 400);
  assert.equal(effGroup.body.error.message, 'Combining effective and group filter will always result in an empty list.');

  // An application credential of the member for the project.
  const cred = (await request(`${v3}/users/${user.id}/application_credentials`, 'POST', token, { application_credential: { name: 'ci' } }))
    .body.application_credential;
  const credLogin = () =>
    request(`${v3}/auth/tokens`, 'POST', null, {
      auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } },
    });
  assert.equal((await credLogin()).status, 201);

  // Leaving the group: the old token dies, and the credential with the last role on the project.
  assert.equal((await request(membership, 'DELETE', admin)).status, 204);
  assert.equal((await api(srv.url, token).get('/networks')).status, 401, 'the old token is refused');
  assert.equal((await login()).status, 401);
  assert.equal((await credLogin()).status, 401, 'the credential went with the last role');

  // Back in: a new token works; losing the group's grant kills it.
  assert.equal((await request(membership, 'PUT', admin)).status, 204);
  const second = (await login()).headers.get('x-subject-token')!;
  assert.equal((await api(srv.url, second).get('/networks')).status, 200);
  // Held both directly and through the group: removing the group's grant keeps the credential.
  assert.equal((await request(`${v3}/projects/${projectId}/users/${user.id}/roles/${readerRole}`, 'PUT', admin)).status, 204);
  const kept = (
    await request(`${v3}/users/${user.id}/application_credentials`, 'POST', second, { application_credential: { name: 'kept' } })
  ).body.application_credential;
  assert.equal((await request(grant(memberRole), 'DELETE', admin)).status, 204);
  assert.equal((await request(grant(memberRole), 'DELETE', admin)).status, 404);
  assert.equal((await api(srv.url, second).get('/networks')).status, 401, 'the grant’s removal kills the member’s token');
  assert.equal((await request(`${v3}/users/${user.id}/application_credentials/${kept.id}`, 'GET', admin)).status, 200);
  const third = await login();
  assert.deepEqual(roleNames(third), ['reader'], 'only the direct role is left');

  // Deleting a group that holds roles kills its members' tokens.
  assert.equal((await request(`${v3}/projects/${projectId}/users/${user.id}/roles/${readerRole}`, 'DELETE', admin)).status, 204);
  assert.equal((await request(grant(memberRole), 'PUT', admin)).status, 204);
  const fourth = (await login()).headers.get('x-subject-token')!;
  assert.equal((await api(srv.url, fourth).get('/networks')).status, 200);
  assert.equal((await request(`${v3}/groups/${group.id}`, 'DELETE', admin)).status, 204);
  assert.equal((await api(srv.url, fourth).get('/networks')).status, 401);
  assert.equal((await login()).status, 401);
  assert.deepEqual((await request(`${v3}/role_assignments?scope.project.id=${projectId}`, 'GET', admin)).body.role_assignments.length, 1);
});
