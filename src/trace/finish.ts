// Numbers the hops, finds the first broken one and the verdict: the report. Pure.
import type { TraceContext } from './context.ts';
import type { HopDraft } from './checks/checks.ts';
import type { Hop, TraceReport, TraceTarget, Verdict } from './report.ts';

/**
 * Statuses that mean traffic stops here. Not `unknown` (the evidence could not be read: the walk
 * goes on and the verdict is at most inconclusive), not `differs` (traffic was measured passing),
 * not `not_reached`.
 */
export const isBroken = (h: Pick<Hop, 'status'>) =>
  h.status !== 'ok' && h.status !== 'not_reached' && h.status !== 'unknown' && h.status !== 'differs';

/** healthy: nothing broken, nothing unchecked; broken: a hop is; inconclusive: nothing broken but some hop unchecked. */
export function verdictOf(hops: Pick<Hop, 'status'>[]): Verdict {
  if (hops.some(isBroken)) return 'broken';
  return hops.some((h) => h.status === 'unknown') ? 'inconclusive' : 'healthy';
}

/** The process exit status of a verdict: 0 healthy, 1 broken, 3 inconclusive (as "could not trace"). */
export const exitStatusOf = (v: Verdict): number => (v === 'healthy' ? 0 : v === 'broken' ? 1 : 3);

function warningOf(h: Hop): string | null {
  if (!h.cause) return null;
  if (h.status === 'unknown') return `hop ${h.index} not checked: ${h.cause}`;
  return `hop ${h.index}: ${h.cause}`;
}

/** The verdict, `ok`, `firstBroken`, and a warning per other hop that is broken, unchecked or differs. */
export function summarize(hops: Hop[]): Pick<TraceReport, 'verdict' | 'ok' | 'firstBroken' | 'warnings'> {
  const broken = hops.find(isBroken);
  const verdict = verdictOf(hops);
  return {
    verdict,
    ok: verdict === 'healthy',
    firstBroken: broken
      ? {
          index: broken.index,
          node: broken.node,
          namespace: broken.namespace,
          device: broken.device,
          reason: broken.reason ?? 'PACKETS_LOST',
          cause: broken.cause ?? `hop ${broken.index} is ${broken.status}`,
        }
      : null,
    warnings: hops
      .filter((h) => h !== broken && (isBroken(h) || h.status === 'unknown' || h.status === 'differs'))
      .map(warningOf)
      .filter((w): w is string => w !== null),
  };
}

/** Whether a warning was made by summarize() for a hop (so it is recomputed, not kept). */
export const isHopWarning = (w: string) => /^hop \d+( not checked)?: /.test(w);

export function finish(ctx: TraceContext, target: TraceTarget, drafts: HopDraft[], started: number): TraceReport {
  const hops: Hop[] = drafts.map((d, i) => ({ index: i + 1, ...d }));
  const { verdict, ok, firstBroken, warnings } = summarize(hops);
  return {
    schema: 'neutrino.trace/v1',
    verdict,
    ok,
    target,
    hops,
    firstBroken,
    warnings,
    source: ctx.source,
    took_ms: Date.now() - started,
  };
}
