// Pure renderer of IP set ops into `ipset restore -exist` input (one batch per namespace and phase).
import { assertIpsetName } from './names.ts';
import type { Op } from './ops.ts';

/** A set type or member: one token, no quoting or line breaks needed. */
function token(what: string, text: string): string {
  if (!/^[A-Za-z0-9_.:/,-]+$/.test(text)) throw new Error(`bad ipset ${what} ${JSON.stringify(text)}`);
  return text;
}

/**
 * `-exist` (checked with ipset 7.17): `create` of a set that exists with the same type and
 * options, `add` of a present member, `del` of an absent one and `destroy` of a missing set
 * succeed, so a retried batch does no harm; a create with other options still fails. The input is
 * not one transaction: lines before a failing one stay applied (the next pass sees them).
 */
export function ipsetLines(op: Op): string[] | undefined {
  if (op.op === 'ipset-destroy') return [`destroy ${assertIpsetName(op.name)}`];
  if (op.op !== 'ipset') return undefined;
  const c = op.change;
  const name = assertIpsetName(c.name);
  const out: string[] = [];
  if (c.mode === 'recreate') out.push(`destroy ${name}`);
  if (c.mode !== 'update') out.push(`create ${name} ${token('type', c.type)} family ${token('family', c.family)}`);
  for (const m of c.del) out.push(`del ${name} ${token('member', m)}`);
  for (const m of c.add) out.push(`add ${name} ${token('member', m)}`);
  return out;
}
