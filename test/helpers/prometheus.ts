// Prometheus' text exposition format read by a parser that is not ours (parse-prometheus-text-format,
// ported from the official Python client's parser; it throws on a malformed line), and small look-ups
// over its result (prom2json's shape: values are strings, histograms carry buckets, count and sum).
// That parser folds a histogram's series into one and drops the _count and _sum of labelled ones, so
// histograms are read a second time without their TYPE line: each _bucket, _count and _sum line is
// then a labelled sample the parser reads as it is, and the series are put back together by labels.
import { createRequire } from 'node:module';

export interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** The series of each histogram, by labels (le apart), from the parser's samples. */
function histogramSeries(text: string, name: string): Sample[] {
  const untyped = parse(text.replace(new RegExp(`^# TYPE ${name} histogram$`, 'm'), ''));
  const series = new Map<string, Sample>();
  for (const f of untyped) {
    const part = f.name === `${name}_bucket` ? 'bucket' : f.name === `${name}_count` ? 'count' : f.name === `${name}_sum` ? 'sum' : null;
    if (!part) continue;
    for (const m of f.metrics) {
      const { le, ...labels } = m.labels ?? {};
      const key = JSON.stringify(Object.entries(labels).sort());
      const s = series.get(key) ?? { labels, buckets: {} };
      series.set(key, s);
      if (part === 'bucket' && le !== undefined) s.buckets![le] = m.value!;
      if (part === 'count') s.count = m.value;
      if (part === 'sum') s.sum = m.value;
    }
  }
  return [...series.values()];
}

/** The families by name; throws on a line that is not in the text format. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map(parse(text).map((f) => [f.name, f]));
  for (const f of families.values()) if (f.type === 'HISTOGRAM') f.metrics = histogramSeries(text, f.name);
  return families;
}

/** The family, which must be there with that type. */
export function family(families: Map<string, Family>, name: string, type: Family['type']): Family {
  const f = families.get(name);
  if (!f) throw new Error(`no metric ${name}; have ${[...families.keys()].join(', ')}`);
  if (f.type !== type) throw new Error(`${name} is a ${f.type}, not a ${type}`);
  return f;
}

/** The samples whose labels include `labels`. */
export const samples = (f: Family, labels: Record<string, string> = {}): Sample[] =>
  f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

/** The one sample's value (gauge, counter) whose labels include `labels`, as a number. */
export function value(f: Family, labels: Record<string, string> = {}): number {
  const found = samples(f, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${f.name} with ${JSON.stringify(labels)}`);
  return Number(found[0]!.value);
}
