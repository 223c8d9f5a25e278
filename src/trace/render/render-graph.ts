// The path as a picture: Graphviz dot or Mermaid, nodes and namespaces as clusters, hops in order,
// coloured by status (green ok, red broken, grey not reached, yellow unknown, blue a static
// difference the probe measured traffic passing). Pure.
import type { Hop, TraceReport } from '../report.ts';

const FILL: Record<Hop['status'], string> = {
  ok: 'palegreen',
  missing: 'salmon',
  mismatch: 'salmon',
  down: 'salmon',
  dropped: 'salmon',
  not_reached: 'grey90',
  unknown: 'khaki',
  differs: 'lightblue',
};
const CLASS: Record<Hop['status'], string> = {
  ok: 'ok',
  missing: 'bad',
  mismatch: 'bad',
  down: 'bad',
  dropped: 'bad',
  not_reached: 'off',
  unknown: 'unk',
  differs: 'diff',
};
const mark = (h: Hop) =>
  h.status === 'ok' ? '✓' : h.status === 'not_reached' ? '·' : h.status === 'unknown' ? '?' : h.status === 'differs' ? '≠' : '✗';
const label = (h: Hop) => `${h.index} ${h.device ?? h.check}${h.device ? `\\n${h.check}` : ''}${h.reason ? `\\n${h.reason}` : ''}`;
const nsLabel = (ns: string) => (ns === '' ? 'root' : ns);

/** Hops grouped by node, then namespace, in first-seen order. */
function clusters(r: TraceReport): Map<string, Map<string, Hop[]>> {
  const out = new Map<string, Map<string, Hop[]>>();
  for (const h of r.hops) {
    const node = h.node || 'API';
    if (!out.has(node)) out.set(node, new Map());
    const nss = out.get(node)!;
    if (!nss.has(h.namespace)) nss.set(h.namespace, []);
    nss.get(h.namespace)!.push(h);
  }
  return out;
}

const q = (s: string) => `"${s.replace(/\\(?!n)/g, '\\\\').replace(/"/g, '\\"')}"`;

export function renderDot(r: TraceReport): string {
  const out = [
    'digraph trace {',
    '  rankdir=LR; node [shape=box, style=filled, fontname="monospace"];',
    `  label=${q(`trace ${r.target.kind} ${r.target.query}: ${r.firstBroken ? `${r.firstBroken.reason} at hop ${r.firstBroken.index}` : r.verdict}`)};`,
  ];
  let c = 0;
  for (const [node, nss] of clusters(r)) {
    out.push(`  subgraph cluster_${c++} { label=${q(node)};`);
    for (const [ns, hops] of nss) {
      out.push(`    subgraph cluster_${c++} { label=${q(nsLabel(ns))};`);
      for (const h of hops)
        out.push(`      h${h.index} [label=${q(label(h))}, fillcolor=${FILL[h.status]}${h.device ? '' : ', shape=note'}];`);
      out.push('    }');
    }
    out.push('  }');
  }
  for (let i = 1; i < r.hops.length; i++) {
    const a = r.hops[i - 1]!;
    const b = r.hops[i]!;
    const style = a.node && b.node && a.node !== b.node ? ' [style=dashed]' : b.leg !== a.leg ? ' [style=dotted, label="reply"]' : '';
    out.push(`  h${a.index} -> h${b.index}${style};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

const m = (s: string) => s.replace(/["[\]{}()<>]/g, ' ').replace(/\\n/g, '<br/>');

export function renderMermaid(r: TraceReport): string {
  const out = ['flowchart LR'];
  let c = 0;
  for (const [node, nss] of clusters(r)) {
    out.push(`  subgraph c${c++}["${m(node)}"]`);
    for (const [ns, hops] of nss) {
      out.push(`    subgraph c${c++}["${m(nsLabel(ns))}"]`);
      for (const h of hops) out.push(`      h${h.index}["${m(label(h))} ${mark(h)}"]`);
      out.push('    end');
    }
    out.push('  end');
  }
  for (let i = 1; i < r.hops.length; i++) {
    const a = r.hops[i - 1]!;
    const b = r.hops[i]!;
    out.push(`  h${a.index} ${a.node && b.node && a.node !== b.node ? '-.->' : '-->'} h${b.index}`);
  }
  out.push('  classDef ok fill:#8f8; classDef bad fill:#f88; classDef off fill:#ddd; classDef unk fill:#ee8; classDef diff fill:#8cf;');
  for (const cls of ['ok', 'bad', 'off', 'unk', 'diff']) {
    const ids = r.hops.filter((h) => CLASS[h.status] === cls).map((h) => `h${h.index}`);
    if (ids.length) out.push(`  class ${ids.join(',')} ${cls};`);
  }
  return out.join('\n') + '\n';
}
