// Request-body processing as Neutron does it (neutron/api/v2/base.py::prepare_request_body):
// each resource declares its attributes, and this module turns a raw body into checked,
// converted, defaulted values — or Neutron's 400/403 answer.
import type { AuthContext } from './context.ts';
import { badRequest, echo, invalidAttribute, policyDenied } from './errors.ts';
import { Invalid, isString, show, toInt, type Converter, type Validator } from './validators.ts';

export interface AttrSpec {
  /** settable on create (allow_post) */
  post?: boolean;
  /** settable on update (allow_put) */
  put?: boolean;
  /** must be given on create */
  required?: boolean;
  /** value used when not given on create; functions are evaluated per request */
  default?: unknown;
  convert?: Converter;
  validate?: Validator;
  /** setting it (to a non-default value) needs admin: 403 PolicyNotAuthorized otherwise */
  adminSet?: boolean;
  /** only admins see it in responses */
  adminRead?: boolean;
  /** usable as a list filter */
  filter?: boolean;
  /** usable as sort_key */
  sort?: boolean;
  /** converts one filter value (query strings are text); defaults to `convert` */
  filterConvert?: Converter;
  /** matches a resource's value against one converted filter value; default: equality */
  filterMatch?: (value: unknown, wanted: unknown) => boolean;
  /** matches a whole item against all the filter's values at once (filters that are no attribute's, like tags-any) */
  filterItem?: (item: Record<string, unknown>, wanted: unknown[]) => boolean;
}

export type AttrMap = Record<string, AttrSpec>;

/**
 * The spec of attribute `name`, looked up as an own property only: request keys such as `__proto__`,
 * `constructor` or `toString` must never find Object.prototype's members.
 */
export function attrSpec(res: ResourceSpec, name: string): AttrSpec | undefined {
  return Object.hasOwn(res.attributes, name) ? res.attributes[name] : undefined;
}

export interface ResourceSpec {
  singular: string;
  plural: string;
  /** URL collection segment when it differs from the plural body key (security-groups). */
  path?: string;
  attributes: AttrMap;
}

/** A free-text field such as `name`: settable, defaulting to '', filterable and sortable. */
export const textAttribute: AttrSpec = { post: true, put: true, default: '', validate: isString(255), filter: true, sort: true };

/** The standard-attributes extensions' fields (timestamps, revision), listed last in a resource's attributes. */
export const standardAttributes: AttrMap = {
  created_at: { sort: true, filter: true },
  updated_at: { sort: true, filter: true },
  revision_number: { filter: true, sort: true, convert: toInt },
};

function convertAndValidate(name: string, spec: AttrSpec, raw: unknown): unknown {
  let value = raw;
  try {
    if (spec.convert) value = spec.convert(raw);
  } catch (e) {
    if (e instanceof Invalid) throw invalidAttribute(name, e.message);
    throw e;
  }
  const reason = spec.validate?.(value);
  if (reason) throw invalidAttribute(name, reason);
  return value;
}

/** Whether Python would find the body falsy (None, {}, [], "", 0, False): Neutron's "Resource body required". */
const emptyBody = (body: unknown) =>
  !body || (typeof body === 'object' && (Array.isArray(body) ? body.length === 0 : Object.keys(body).length === 0));

/** `{"<singular>": {...}}` → the inner object, or Neutron's answer to a body of another shape. */
export function unwrapBody(body: unknown, singular: string): Record<string, unknown> {
  if (emptyBody(body)) throw badRequest('Resource body required');
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Body contains invalid data');
  const inner = Object.hasOwn(body as object, singular) ? (body as Record<string, unknown>)[singular] : undefined;
  if (inner === undefined || inner === null) throw badRequest(`Unable to find '${singular}' in request body`);
  if (typeof inner !== 'object' || Array.isArray(inner)) throw badRequest(`Object '${singular}' contains invalid data`);
  return inner as Record<string, unknown>;
}

function checkBody(res: ResourceSpec, body: unknown): Record<string, unknown> {
  const attrs = unwrapBody(body, res.singular);
  const unknown = Object.keys(attrs).filter((k) => !attrSpec(res, k) && k !== 'tenant_id' && k !== 'project_id');
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${echo(unknown.join(', '))}'`);
  return attrs;
}

/** Resolves project_id/tenant_id: both accepted, must agree, and only admins may name another project. */
function resolveProject(attrs: Record<string, unknown>, ctx: AuthContext): string {
  const { project_id: p, tenant_id: t } = attrs;
  if (p !== undefined && t !== undefined && p !== t) {
    throw badRequest("'project_id' and 'tenant_id' do not match");
  }
  const given = (p ?? t) as unknown;
  if (given === undefined) return ctx.projectId;
  if (typeof given !== 'string' || given.length > 255) throw invalidAttribute('project_id', `'${show(given)}' is not a valid string`);
  if (given !== ctx.projectId && !ctx.isAdmin) {
    throw badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
  }
  return given;
}

/** A default the item may keep as its own: objects copied (a create may change them), the rest as they are (cloning costs). */
const ownCopy = (value: unknown): unknown => (typeof value === 'object' && value !== null ? structuredClone(value) : value);

/**
 * A create body → values for every attribute that is given or has a default. Attributes the server
 * computes (no default) are absent when not given. `project_id` is always set.
 */
export function prepareCreate(res: ResourceSpec, body: unknown, ctx: AuthContext): Record<string, unknown> {
  const attrs = checkBody(res, body);
  const out: Record<string, unknown> = { project_id: resolveProject(attrs, ctx) };
  const denied: string[] = [];
  for (const [name, spec] of Object.entries(res.attributes)) {
    if (Object.hasOwn(attrs, name)) {
      if (!spec.post) throw badRequest(`Attribute '${name}' not allowed in POST`);
      out[name] = convertAndValidate(name, spec, attrs[name]);
      const def = typeof spec.default === 'function' ? undefined : spec.default;
      if (spec.adminSet && !ctx.isAdmin && JSON.stringify(out[name]) !== JSON.stringify(def)) denied.push(name);
    } else if (spec.post) {
      if (spec.required) throw badRequest(`Failed to parse request. Required attribute '${name}' not specified`);
      if (spec.default !== undefined) {
        out[name] = typeof spec.default === 'function' ? (spec.default as () => unknown)() : ownCopy(spec.default);
      }
    }
  }
  if (denied.length) throw policyDenied(composeRule('create', res.singular, denied));
  return out;
}

/**
 * The items of a bulk create body (`{"networks": [...]}`), each as a single-resource body; null when the
 * body is no bulk request. Like Neutron, an item may itself be wrapped (`{"network": {...}}`).
 */
export function bulkItems(res: ResourceSpec, body: unknown): Array<Record<string, unknown>> | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Object.hasOwn(body, res.plural)) return null;
  const list = (body as Record<string, unknown>)[res.plural];
  if (emptyBody(list)) throw badRequest('Resources required');
  if (!Array.isArray(list)) throw badRequest('Body contains invalid data');
  return list.map((item) => {
    // Python cannot ask `'network' in item` of a number, boolean or None.
    if (item === null || (typeof item !== 'object' && typeof item !== 'string')) throw badRequest('Body contains invalid data');
    return typeof item === 'object' && !Array.isArray(item) && Object.hasOwn(item, res.singular)
      ? (item as Record<string, unknown>)
      : { [res.singular]: item };
  });
}

/** An update body → only the attributes given, converted and checked. */
export function prepareUpdate(res: ResourceSpec, body: unknown, ctx: AuthContext): Record<string, unknown> {
  const attrs = checkBody(res, body);
  const out: Record<string, unknown> = {};
  const denied: string[] = [];
  for (const [name, raw] of Object.entries(attrs)) {
    const spec = attrSpec(res, name);
    if (!spec || !spec.put) throw badRequest(`Cannot update read-only attribute ${name}`);
    out[name] = convertAndValidate(name, spec, raw);
    if (spec.adminSet && !ctx.isAdmin) denied.push(name);
  }
  if (denied.length) throw policyDenied(composeRule('update', res.singular, denied));
  return out;
}

/** oslo.policy's rendering of the rule Neutron builds for attribute-level checks. */
export function composeRule(action: string, singular: string, attrs: string[]): string {
  const base = `rule:${action}_${singular}`;
  const parts = attrs.map((a) => `rule:${action}_${singular}:${a}`);
  return parts.length === 1 ? `(${base} and ${parts[0]})` : `(${base} and (${parts.join(' and ')}))`;
}

/** The attributes only admins read, per resource (computed once: every listed item is stripped of them). */
const adminOnly = new WeakMap<ResourceSpec, Set<string>>();

export function adminReadNames(res: ResourceSpec): ReadonlySet<string> {
  let names = adminOnly.get(res);
  if (!names) {
    names = new Set(Object.keys(res.attributes).filter((k) => res.attributes[k].adminRead));
    adminOnly.set(res, names);
  }
  return names;
}

/** Removes what the caller may not read. */
export function visibleTo(res: ResourceSpec, item: Record<string, unknown>, ctx: AuthContext): Record<string, unknown> {
  if (ctx.isAdmin) return item;
  const hidden = adminReadNames(res);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(item)) {
    if (!hidden.has(k)) out[k] = item[k];
  }
  return out;
}
