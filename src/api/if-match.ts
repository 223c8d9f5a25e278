// revision-if-match: `If-Match: revision_number=N` constrains a PUT or DELETE to the revision the client
// last saw (neutron/api/api_common.py check_request_for_revision_constraint, revision_plugin.py).
import { badRequest, NeutronError } from '../model/errors.ts';

/** Neutron's BadRequest(resource='if-match', msg=…). */
const badIfMatch = (msg: string) => badRequest(`Bad if-match request: ${msg}.`, 'BadRequest');

/** The entity tags of an If-Match header as webob's ETagMatcher.parse reads them (strong tags only). */
function etags(header: string): string[] {
  if (header === '*' || !header) return [];
  const quoted = [...header.matchAll(/(?:^|\s)(W\/)?"((?:\\"|.)*?)"/g)];
  if (!quoted.length) return [header];
  return quoted.filter((m) => !m[1]).map((m) => m[2]);
}

/** The revision an If-Match header constrains to, or null; several or a malformed one is a 400. */
export function revisionConstraint(header: string | string[] | undefined): number | null {
  let revision: number | null = null;
  for (const tag of etags(Array.isArray(header) ? header.join(', ') : (header ?? ''))) {
    if (!tag.startsWith('revision_number=')) continue;
    if (revision !== null) throw badIfMatch('Multiple revision_number etags are not supported');
    const text = tag.split('revision_number=')[1].trim();
    // Python's int(): optional sign, digits (underscores between them), surrounding blanks.
    if (!/^[+-]?\d+(_\d+)*$/.test(text)) throw badIfMatch('Revision number etag must be in the format of revision_number=<int>');
    revision = Number(text.replace(/_/g, ''));
  }
  return revision;
}

/** RevisionNumberConstraintFailed (webob's HTTPPreconditionFailed): the resource moved on. */
export function enforceRevision(expected: number, current: number): void {
  if (expected !== current) {
    throw new NeutronError(412, 'RevisionNumberConstraintFailed', `Constrained to ${expected}, but current revision is ${current}`);
  }
}
