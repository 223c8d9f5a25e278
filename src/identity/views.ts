// Keystone v3 JSON renderings of identity rows (entities with `links`, wrapped lists, version documents).
import type { DomainRow, GroupRow, ProjectRow, RoleRow, UserRow } from '../store/schema/index.ts';
import type { ApplicationCredential } from './app-credentials.ts';
import type { RoleAssignment } from './assignments.ts';
import type { CatalogEndpoint, CatalogService } from './catalog.ts';
import { keystoneTime } from './context.ts';

type Links = { self: string };

export function versionV3(baseUrl: string) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${baseUrl}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

export const listBody = <T>(key: string, items: T[], self: string) => ({
  [key]: items,
  links: { self, next: null, previous: null },
});

export class IdentityViews {
  private readonly v3: string;

  constructor(baseUrl: string) {
    this.v3 = `${baseUrl}/identity/v3`;
  }

  private links(path: string): Links {
    return { self: `${this.v3}/${path}` };
  }

  /** The `self` link of a list: the request's own path and query under the public base URL. */
  requestUrl(url: string): string {
    return this.v3 + url.replace(/^\/identity\/v3/, '');
  }

  domain(d: DomainRow) {
    return {
      id: d.id,
      name: d.name,
      description: d.description,
      enabled: Boolean(d.enabled),
      tags: [],
      options: {},
      links: this.links(`domains/${d.id}`),
    };
  }

  project(p: ProjectRow) {
    return {
      id: p.id,
      name: p.name,
      domain_id: p.domain_id,
      description: p.description,
      enabled: Boolean(p.enabled),
      is_domain: false,
      parent_id: p.domain_id,
      tags: [],
      options: {},
      links: this.links(`projects/${p.id}`),
    };
  }

  user(u: UserRow) {
    return {
      id: u.id,
      name: u.name,
      domain_id: u.domain_id,
      enabled: Boolean(u.enabled),
      ...(u.default_project_id ? { default_project_id: u.default_project_id } : {}),
      ...(u.description ? { description: u.description } : {}),
      ...(u.email ? { email: u.email } : {}),
      password_expires_at: null,
      options: {},
      links: this.links(`users/${u.id}`),
    };
  }

  group(g: GroupRow) {
    return { id: g.id, name: g.name, domain_id: g.domain_id, description: g.description, links: this.links(`groups/${g.id}`) };
  }

  role(r: RoleRow) {
    return {
      id: r.id,
      name: r.name,
      domain_id: r.domain_id,
      description: r.description || null,
      options: {},
      links: this.links(`roles/${r.id}`),
    };
  }

  /** Keystone's public fields of a credential; `secret` only in the answer to its creation. */
  applicationCredential({ row, roles }: ApplicationCredential, secret?: string) {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      expires_at: row.expires_at === null ? null : keystoneTime(Date.parse(row.expires_at)),
      project_id: row.project_id,
      roles: roles.map((r) => ({ id: r.id, name: r.name, domain_id: r.domain_id, description: r.description || null, options: {} })),
      unrestricted: Boolean(row.unrestricted),
      access_rules: [],
      ...(secret === undefined ? {} : { secret }),
      links: this.links(`users/${row.user_id}/application_credentials/${row.id}`),
    };
  }

  service(s: CatalogService) {
    return { id: s.id, type: s.type, name: s.name, enabled: true, links: this.links(`services/${s.id}`) };
  }

  endpoint(e: CatalogEndpoint & { service_id: string }) {
    return { ...e, enabled: true, links: this.links(`endpoints/${e.id}`) };
  }

  region(id: string) {
    return { id, description: '', parent_region_id: null, links: this.links(`regions/${id}`) };
  }

  /** Keystone's rendering: the actor is `user` or `group`; a user's assignment through a group links the membership. */
  assignment(a: RoleAssignment, includeNames: boolean) {
    const withName = <T extends { id: string }>(ref: T, extra: object) => (includeNames ? { ...ref, ...extra } : ref);
    const target = `${this.v3}/projects/${a.project.id}`;
    const viaGroup = a.group ? `/groups/${a.group.id}` : `/users/${a.user?.id}`;
    return {
      links: {
        assignment: `${target}${viaGroup}/roles/${a.role.id}`,
        ...(a.user && a.group ? { membership: `${this.v3}/groups/${a.group.id}/users/${a.user.id}` } : {}),
      },
      role: withName({ id: a.role.id }, { name: a.role.name }),
      scope: { project: withName({ id: a.project.id }, { name: a.project.name, domain: a.project.domain }) },
      ...(a.user
        ? { user: withName({ id: a.user.id }, { name: a.user.name, domain: a.user.domain }) }
        : a.group
          ? { group: withName({ id: a.group.id }, { name: a.group.name, domain: a.group.domain }) }
          : {}),
    };
  }
}
