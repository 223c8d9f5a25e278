// Comparisons by meaning, not by text order. A real Neutron agent writes what neutrino's planner
// also writes, but in its own order: the security-group rules in the order its server hands them
// over, match modules in the order its code adds them, fdb entries, addresses and routes as the
// kernel lists them. What the order does not change is compared as a set; what it does change (rules
// with different targets in one chain) keeps its order. Pure.

/** Splits an iptables-save rule into words; a double-quoted string (a comment) is one word. */
export function ruleWords(rule: string): string[] {
  return rule.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

/** A word that starts a clause: an IP-header option (`-s`, `-p`, …), `-m MODULE`, `-j`/`-g TARGET`. */
const startsClause = (w: string) => /^-[a-zA-Z]$/.test(w);

/**
 * The rule's clauses: each IP-header option with its value, each `-m MODULE` with its options,
 * and the target with its options (last). `!` stays with the option it negates.
 */
function clausesOf(rule: string): { matches: string[]; target: string } {
  const words = ruleWords(rule);
  const clauses: string[][] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '!' && startsClause(words[i + 1] ?? '')) clauses.push([w, words[++i]!]);
    else if (startsClause(w) || clauses.length === 0) clauses.push([w]);
    else clauses[clauses.length - 1]!.push(w);
  }
  const isTarget = (c: string[]) => c[0] === '-j' || c[0] === '-g';
  const target = clauses.find(isTarget);
  return {
    matches: clauses.filter((c) => !isTarget(c)).map((c) => c.join(' ')),
    // Neutron adds --random-fully to SNAT only where iptables supports it (random_fully): the same translation.
    target: target ? target.filter((w) => w !== '--random-fully').join(' ') : '',
  };
}

/**
 * What a rule means, independent of the order its matches were written in: its match clauses
 * sorted, then its target. Two rules with the same key match the same packets and do the same.
 */
export function ruleKey(rule: string): string {
  const { matches, target } = clausesOf(rule);
  return [...matches]
    .sort()
    .concat(target ? [target] : [])
    .join(' ');
}

/** The rule's target with its options (`-j RETURN`, `-j DNAT --to-destination 10.0.0.3`); '' when it has none. */
export const ruleTarget = (rule: string): string => clausesOf(rule).target;

export interface ChainDiff {
  /** rules the chain should have and has not (as expected) */
  missing: string[];
  /** rules the chain has and should not (as observed) */
  unexpected: string[];
  /** pairs of rules with different targets in the other order: `first` is observed before `then`, expected after it */
  reordered: Array<{ first: string; then: string }>;
}

export const chainDiffers = (d: ChainDiff) => d.missing.length + d.unexpected.length + d.reordered.length > 0;

/** Each key once, at its first rule (a repeated rule is never reached: the first one decided). */
function firstOfEach(rules: readonly string[]): Map<string, { rule: string; at: number }> {
  const out = new Map<string, { rule: string; at: number }>();
  rules.forEach((rule, at) => {
    const k = ruleKey(rule);
    if (!out.has(k)) out.set(k, { rule, at });
  });
  return out;
}

/**
 * A chain as the agent should have written it against the chain as read. Consecutive rules with
 * the same target may come in any order: the first that matches decides, and any of them decides
 * the same. Rules with different targets keep their order (the fixed head and tail of a chain,
 * DROP before RETURN): two orders are equivalent exactly when every such pair is in the same order.
 */
export function compareChain(expected: readonly string[], observed: readonly string[]): ChainDiff {
  const want = firstOfEach(expected);
  const have = firstOfEach(observed);
  const missing = [...want].filter(([k]) => !have.has(k)).map(([, v]) => v.rule);
  const unexpected = [...have].filter(([k]) => !want.has(k)).map(([, v]) => v.rule);
  const common = [...want]
    .filter(([k]) => have.has(k))
    .map(([k, v]) => ({ key: k, rule: v.rule, target: ruleTarget(v.rule), at: have.get(k)!.at, observedRule: have.get(k)!.rule }));
  const reordered: ChainDiff['reordered'] = [];
  for (let i = 0; i < common.length; i++) {
    for (let j = i + 1; j < common.length; j++) {
      const a = common[i]!;
      const b = common[j]!;
      if (a.target !== b.target && b.at < a.at) reordered.push({ first: b.observedRule, then: a.observedRule });
    }
  }
  return { missing, unexpected, reordered };
}

/** The difference in words: the missing and unexpected rules by name, or the first pair out of order. */
export function describeChainDiff(d: ChainDiff, line: (rule: string) => string = (r) => r): string {
  const parts: string[] = [];
  if (d.missing.length) parts.push(`missing: ${d.missing.map((r) => `'${line(r)}'`).join(', ')}`);
  if (d.unexpected.length) parts.push(`unexpected: ${d.unexpected.map((r) => `'${line(r)}'`).join(', ')}`);
  const first = d.reordered[0];
  if (first)
    parts.push(
      `out of order: '${line(first.first)}' comes before '${line(first.then)}', which should decide first${d.reordered.length > 1 ? ` (and ${d.reordered.length - 1} more pair(s))` : ''}`,
    );
  return parts.join('; ');
}

/** Rules of a chain that mean `rule` (whatever the order of its matches). */
export const findRule = (rules: readonly string[], rule: string): string | undefined => {
  const k = ruleKey(rule);
  return rules.find((r) => ruleKey(r) === k);
};

/** A sysctl value as `sysctl` prints it, whatever the separator (`32768\t60999` = `32768 60999`). */
export const sysctlValue = (v: string): string => v.trim().split(/\s+/).join(' ');
