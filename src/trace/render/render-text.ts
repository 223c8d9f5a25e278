// The trace report as a terminal table: numbered hops with node, namespace, device, check and
// result; the first broken hop highlighted with its explanation; `detail` adds the evidence. Pure.
import type { Hop, TraceReport } from '../report.ts';

export interface TextOptions {
  color: boolean;
  detail: boolean;
}

const COLORS = { red: 31, green: 32, yellow: 33, grey: 90, bold: 1 } as const;
type Color = keyof typeof COLORS;

/** Namespaces named after long ids are cut for the table (the JSON keeps them whole). */
const shortNs = (ns: string) =>
  ns === '' ? 'root' : /^(qrouter|qdhcp)-[0-9a-f-]{36}$/.test(ns) ? `${ns.slice(0, ns.indexOf('-') + 9)}…` : ns;

function statusText(h: Hop): string {
  if (h.status === 'ok') return 'ok';
  return h.reason ? `${h.status.toUpperCase()} ${h.reason}` : h.status.toUpperCase();
}

function summary(h: Hop): string {
  const e = h.expected;
  const parts: string[] = [];
  if (typeof e['master'] === 'string') parts.push(`in ${e['master']}`);
  const peer = e['peer'] as { name?: string; namespace?: string } | undefined;
  if (peer?.name) parts.push(`peer ${peer.name}${peer.namespace ? `@${shortNs(peer.namespace)}` : ''}`);
  const vx = e['vxlan'] as { vni?: number; local?: string; dev?: string } | undefined;
  if (vx) parts.push(`id ${vx.vni}${vx.local ? ` local ${vx.local}` : ''}${vx.dev ? ` dev ${vx.dev}` : ''}`);
  if (typeof e['address'] === 'string') parts.push(String(e['address']));
  if (typeof e['rule'] === 'string') parts.push(String(e['rule']).replace(/^-A \S+ /, ''));
  if (typeof e['mac'] === 'string' && typeof e['ip_address'] === 'string') parts.push(`${e['mac']} → ${e['ip_address']}`);
  if (typeof e['fdb'] === 'string') parts.push(String(e['fdb']).replace(/ self permanent$/, ''));
  if (typeof e['dhcpv6'] === 'string') parts.push(String(e['dhcpv6']));
  if (typeof e['to'] === 'string') parts.push(`${e['to']}${e['via'] ? ` via ${e['via']}` : ''} dev ${e['dev']}`);
  if (h.check === 'conntrack' && h.observed) parts.push(`${h.observed['entries']} entr${h.observed['entries'] === 1 ? 'y' : 'ies'}`);
  if (h.capture) parts.push(`req ${h.capture.request} rep ${h.capture.reply ?? '-'}`);
  return parts.join(', ');
}

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function renderText(r: TraceReport, o: TextOptions): string {
  const paint = (c: Color, s: string) => (o.color ? `\x1b[${COLORS[c]}m${s}\x1b[0m` : s);
  const t = r.target;
  const out: string[] = [];
  if (t.floatingip && t.port) {
    out.push(
      `floating IP ${t.floatingip.address} → port ${t.port.id} (${t.port.fixed_ip ?? '?'}, ${t.port.mac}) on network ${t.network?.name || t.network?.id} (${t.network?.type}${t.network?.segmentation_id !== null && t.network?.segmentation_id !== undefined ? ` ${t.network.segmentation_id}` : ''})`,
    );
    out.push(
      `router ${t.router?.name || t.router?.id || '-'} on ${t.router?.host ?? '(not hosted)'} · port bound to ${t.port.host || '(nobody)'} · flow ${t.flow.protocol}${t.flow.port ? `/${t.flow.port}` : ''}`,
    );
  } else {
    out.push(`${t.kind} ${t.query} · flow ${t.flow.protocol}${t.flow.port ? `/${t.flow.port}` : ''}`);
  }
  for (const p of [r.dhcpProbe, r.probe]) if (p) out.push(`probe: ${p.protocol} from ${p.from}: ${p.answered}/${p.sent} answered`);
  out.push('');
  const rows: string[][] = [['#', 'leg', 'node', 'namespace', 'device', 'check', 'expected', 'result']];
  const colorOf: Array<Color | null> = [null];
  for (const h of r.hops) {
    rows.push([
      String(h.index),
      h.leg === 'request' ? '→' : '←',
      h.node || '-',
      h.node ? shortNs(h.namespace) : '-',
      h.device ?? '-',
      h.check,
      summary(h),
      statusText(h),
    ]);
    colorOf.push(
      h.status === 'ok' ? 'green' : h.status === 'unknown' || h.status === 'not_reached' || h.status === 'differs' ? 'yellow' : 'red',
    );
  }
  const lines = pad(rows);
  lines.forEach((line, i) => {
    const h = r.hops[i - 1];
    const c = colorOf[i];
    if (i === 0) out.push(paint('bold', line));
    else if (h && r.firstBroken?.index === h.index) out.push(paint('bold', paint(c!, line)));
    else out.push(c ? line.replace(/\S+( \S+)?$/, (m) => paint(c, m)) : line);
    if (o.detail && h) {
      for (const e of h.evidence)
        out.push(
          paint('grey', `      $ ${e.command}${e.line ? `\n        ${e.line.length > 400 ? `${e.line.slice(0, 400)}…` : e.line}` : ''}`),
        );
      if (h.setting) out.push(paint('grey', `      setting: ${h.setting}`));
      if (h.status !== 'ok')
        out.push(paint('grey', `      expected ${JSON.stringify(h.expected)}\n      observed ${JSON.stringify(h.observed)}`));
      if (h.cause && h.status !== 'ok' && r.firstBroken?.index !== h.index) out.push(paint('grey', `      ${h.cause}`));
    }
  });
  out.push('');
  if (r.firstBroken) {
    const b = r.firstBroken;
    out.push(
      paint(
        'red',
        paint(
          'bold',
          `STOPPED AT  hop ${b.index}: ${b.device ?? '-'} ${b.namespace ? `in ${b.namespace} ` : ''}on ${b.node || 'the API'} — ${b.reason}`,
        ),
      ),
    );
    out.push(`WHY         ${b.cause}`);
    const h = r.hops[b.index - 1];
    if (h?.evidence.length) out.push(`EVIDENCE    ${h.evidence.map((e) => e.command).join('; ')}`);
  } else if (r.verdict === 'inconclusive') {
    const unchecked = r.hops.filter((h) => h.status === 'unknown');
    out.push(
      paint(
        'yellow',
        paint(
          'bold',
          `INCONCLUSIVE  no hop is broken, but ${unchecked.length} of ${r.hops.length} could not be checked (hop ${unchecked.map((h) => h.index).join(', ')})`,
        ),
      ),
    );
  } else if (r.hops.some((h) => h.status === 'differs')) {
    const differ = r.hops.filter((h) => h.status === 'differs').map((h) => h.index);
    out.push(
      paint(
        'green',
        paint(
          'bold',
          `OK          traffic measured passing every hop (${r.hops.length} hops); hop ${differ.join(', ')} differ from what the agent should have written`,
        ),
      ),
    );
  } else {
    out.push(paint('green', paint('bold', `OK          every hop checked matches (${r.hops.length} hops)`)));
  }
  for (const w of r.warnings) out.push(paint('yellow', `ALSO        ${w}`));
  out.push(paint('grey', `(${r.source}, ${r.took_ms} ms)`));
  return out.join('\n') + '\n';
}
