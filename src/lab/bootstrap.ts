// Bootstraps the lab's `demo` project and its member user `demo` through the Identity v3 API, as an
// operator would with `openstack project create` / `user create` / `role add`.
import type { NeutrinoClient } from '../client/neutrino.ts';
import { LabError } from './topology.ts';

interface Named {
  id: string;
  name: string;
}

async function findOne(client: NeutrinoClient, kind: 'projects' | 'users' | 'roles', name: string): Promise<Named | null> {
  const body = await client.call<Record<string, Named[]>>('GET', `/identity/v3/${kind}?name=${encodeURIComponent(name)}`);
  return body[kind].find((x) => x.name === name) ?? null;
}

export async function bootstrapDemo(client: NeutrinoClient, demo: { project: string; username: string; password: string }): Promise<void> {
  const project =
    (await findOne(client, 'projects', demo.project)) ??
    (
      await client.call<{ project: Named }>('POST', '/identity/v3/projects', {
        project: { name: demo.project, domain_id: 'default', description: 'neutrino lab demo project' },
      })
    ).project;
  const user =
    (await findOne(client, 'users', demo.username)) ??
    (
      await client.call<{ user: Named }>('POST', '/identity/v3/users', {
        user: { name: demo.username, domain_id: 'default', password: demo.password, default_project_id: project.id },
      })
    ).user;
  const member = await findOne(client, 'roles', 'member');
  if (!member) throw new LabError("the server has no 'member' role");
  await client.call('PUT', `/identity/v3/projects/${project.id}/users/${user.id}/roles/${member.id}`);
}

/** The id of a project by name (instances are created for `demo` or `admin`). */
export async function projectId(client: NeutrinoClient, name: string): Promise<string> {
  const p = await findOne(client, 'projects', name);
  if (!p) throw new LabError(`no project named '${name}'`);
  return p.id;
}
