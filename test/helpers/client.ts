// A tiny HTTP client for API tests: tokens, a member project, and JSON requests.
import { randomUUID } from 'node:crypto';
import { ADMIN_PASSWORD } from './server.ts';

/**
 * A reply body as the wire gives it, until a test names its shape (a type argument, or a shape from
 * shapes.ts). The one untyped default of the API tests: typing every body read is a change of its own.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Wire = any;

export interface Reply<T = Wire> {
  status: number;
  body: T;
  headers: Headers;
}

export async function request<T = Wire>(
  url: string,
  method: string,
  token: string | null,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (token) headers['x-auth-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export async function issueToken(base: string, user: string, password: string, project: string): Promise<string> {
  const r = await request(`${base}/identity/v3/auth/tokens`, 'POST', null, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: 'Default' } } } },
      scope: { project: { name: project, domain: { name: 'Default' } } },
    },
  });
  if (r.status !== 201) throw new Error(`token for ${user}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.headers.get('x-subject-token')!;
}

export const adminToken = (base: string) => issueToken(base, 'admin', ADMIN_PASSWORD, 'admin');

/** Creates project NAME with a user NAME holding `member` on it; returns its id and a token. */
export async function memberProject(base: string, admin: string, name: string): Promise<{ projectId: string; token: string }> {
  const id = `${base}/identity/v3`;
  const p = await request(`${id}/projects`, 'POST', admin, { project: { name, domain_id: 'default' } });
  if (p.status !== 201) throw new Error(`project ${name}: ${p.status} ${JSON.stringify(p.body)}`);
  const u = await request(`${id}/users`, 'POST', admin, {
    user: { name, password: `${name}-pw`, domain_id: 'default', default_project_id: p.body.project.id },
  });
  if (u.status !== 201) throw new Error(`user ${name}: ${u.status} ${JSON.stringify(u.body)}`);
  const roles = await request(`${id}/roles?name=member`, 'GET', admin);
  const a = await request(`${id}/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${roles.body.roles[0].id}`, 'PUT', admin);
  if (a.status !== 204) throw new Error(`role add: ${a.status}`);
  return { projectId: p.body.project.id, token: await issueToken(base, name, `${name}-pw`, name) };
}

/** Bound helpers for one base URL and token. */
export function api(base: string, token: string) {
  const v2 = `${base}/v2.0`;
  return {
    get: <T = Wire>(path: string) => request<T>(`${v2}${path}`, 'GET', token),
    post: <T = Wire>(path: string, body: unknown) => request<T>(`${v2}${path}`, 'POST', token, body),
    put: <T = Wire>(path: string, body: unknown) => request<T>(`${v2}${path}`, 'PUT', token, body),
    del: <T = Wire>(path: string) => request<T>(`${v2}${path}`, 'DELETE', token),
  };
}

export type Api = ReturnType<typeof api>;

/** A member project as the RBAC tests use one: its client and id. */
export interface MemberProject {
  client: Api;
  id: string;
}

/** Three new member projects (unique names): the owner of what is shared, the target, and a bystander. */
export async function sharingProjects(
  base: string,
  admin: string,
): Promise<{ owner: MemberProject; target: MemberProject; third: MemberProject }> {
  const make = async (label: string): Promise<MemberProject> => {
    const p = await memberProject(base, admin, `${label}-${randomUUID().slice(0, 8)}`);
    return { client: api(base, p.token), id: p.projectId };
  };
  return { owner: await make('owner'), target: await make('target'), third: await make('third') };
}
