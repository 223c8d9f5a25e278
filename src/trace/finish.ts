// Numbers the hops and finds the first broken one: the report. Pure.
import type { TraceContext } from './context.js';
import type { HopDraft } from './checks.js';
import type { Hop, TraceReport, TraceTarget } from './report.js';

/** Statuses that mean traffic stops (or may stop) here. `unknown` counts: a hop not checked is not proven. */
export const isBroken = (h: Pick<Hop, 'status'>) => h.status !== 'ok' && h.status !== 'not_reached';

/** `ok`, `firstBroken`, and a warning per other broken hop, from the hops' statuses. */
export function summarize(hops: Hop[]): Pick<TraceReport, 'ok' | 'firstBroken' | 'warnings'> {
  const broken = hops.find(isBroken);
  return {
    ok: !broken,
    firstBroken: broken
      ? { index: broken.index, node: broken.node, namespace: broken.namespace, device: broken.device, reason: broken.reason ?? 'PACKETS_LOST', cause: broken.cause ?? `hop ${broken.index} is ${broken.status}` }
      : null,
    warnings: hops.filter((h) => h !== broken && isBroken(h) && h.cause).map((h) => `hop ${h.index}: ${h.cause}`),
  };
}

export function finish(ctx: TraceContext, target: TraceTarget, drafts: HopDraft[], started: number): TraceReport {
  const hops: Hop[] = drafts.map((d, i) => ({ index: i + 1, ...d }));
  const { ok, firstBroken, warnings } = summarize(hops);
  return { schema: 'neutrino.trace/v1', ok, target, hops, firstBroken, warnings, source: ctx.source, took_ms: Date.now() - started };
}
