// The node-wide chains of a big node, split into sub-chains by the first hex digit of each port's
// id. Pure.
//
// Neutron keeps a rule or two per port in a handful of node-wide chains (neutron-linuxbri-FORWARD,
// -INPUT, -sg-chain; neutrino adds -unknown-in/-out). On a node with a thousand ports each holds
// thousands of rules, and every change of one port costs more than the port: iptables-nft fetches
// (and, to delete by text, decodes) a chain's every rule before it can insert at a position or
// delete, ~10 µs a rule; a linear chain is also walked rule by rule by every packet. Above
// BUCKET_ABOVE known taps each of these chains keeps only a dispatch rule per digit, matching the
// tap names of that digit (`tap3+`), and the ports' rules move to the digit's sub-chain, in the
// order they had: a port's change edits a chain of ~1/16 the size.
//
// The verdicts are those of the one long chain. FORWARD, INPUT and sg-chain dispatch each digit's
// `out` side first and its `in` side second, both to the same sub-chain with -j: a packet between
// taps A and B first enters the sub-chain of the lower digit of the two, where the rules keep the
// long chain's order (sorted by port id, so a lower digit's rules all come first there too); what
// did not end the packet there falls through to the next digit as it would have to the next rules.
// Entered twice (both taps under one digit), a sub-chain only repeats checks with no side effect.
// The no-window chains (-unknown-in/-out) are a RETURN per known tap, then DROP: their dispatch is
// -g, so a RETURN in the sub-chain returns past the parent's final DROP, as in the long chain.
import type { ChainSpec } from '../kernel/types.ts';

/** More known taps than this on a node, and its node-wide chains are split; up to it, Neutron's layout exactly. */
export const BUCKET_ABOVE = 64;

const DIGITS = '0123456789abcdef';

/** A tap's digit: the first character of its port id, after "tap"; null for a tap whose port id does not start with one. */
export function tapDigit(tap: string): string | null {
  const c = tap.charAt(3);
  return c !== '' && DIGITS.includes(c) ? c : null;
}

/** One tap's rules in a node-wide chain. */
export interface TapRules {
  tap: string;
  rules: readonly string[];
}

export interface SplitChain {
  /** The chain's own rules for these taps: rules of taps without a digit (kept in place), then the dispatch. */
  rules: string[];
  /** The sub-chains of the digits that have rules, in digit order. */
  chains: ChainSpec[];
}

/**
 * `entries` in the order the long chain holds them. `subChain(d)` names a digit's sub-chain,
 * `dispatch(d, name)` gives the parent's rules that send a tap of that digit there, and `tail` ends
 * every sub-chain.
 */
export function splitByDigit(
  entries: readonly TapRules[],
  subChain: (digit: string) => string,
  dispatch: (digit: string, chain: string) => string[],
  tail: readonly string[] = [],
): SplitChain {
  const own: string[] = [];
  const byDigit = new Map<string, string[]>();
  for (const e of entries) {
    const d = tapDigit(e.tap);
    if (d === null) {
      own.push(...e.rules);
      continue;
    }
    let rules = byDigit.get(d);
    if (!rules) byDigit.set(d, (rules = []));
    rules.push(...e.rules);
  }
  const chains: ChainSpec[] = [];
  for (const d of DIGITS) {
    const rules = byDigit.get(d);
    if (!rules?.length) continue;
    const name = subChain(d);
    own.push(...dispatch(d, name));
    chains.push({ name, rules: [...rules, ...tail] });
  }
  return { rules: own, chains };
}
