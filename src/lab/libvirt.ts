// The libvirt-style domain XML an instance gets (what nova writes to instances/<id>/libvirt.xml):
// the tracer reads the tap device, bridge and MAC from it, as the operator in the scenario does. Pure.

export interface DomainInterface {
  mac: string;
  bridge: string;
  tap: string;
  mtu: number;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderDomainXml(d: { id: string; name: string; interfaces: DomainInterface[] }): string {
  const nics = d.interfaces
    .map(
      (i) => `    <interface type="bridge">
      <mac address="${escape(i.mac)}"/>
      <model type="virtio"/>
      <source bridge="${escape(i.bridge)}"/>
      <mtu size="${i.mtu}"/>
      <target dev="${escape(i.tap)}"/>
    </interface>`,
    )
    .join('\n');
  return `<domain type="kvm">
  <uuid>${escape(d.id)}</uuid>
  <name>${escape(d.name)}</name>
  <devices>
${nics}
  </devices>
</domain>
`;
}

/** Reads the interfaces back (the tracer's step 1). */
export function parseDomainInterfaces(xml: string): DomainInterface[] {
  const out: DomainInterface[] = [];
  for (const m of xml.matchAll(/<interface type="bridge">([\s\S]*?)<\/interface>/g)) {
    const body = m[1];
    const attr = (tag: string, name: string) => new RegExp(`<${tag} ${name}="([^"]*)"`).exec(body)?.[1] ?? '';
    out.push({
      mac: attr('mac', 'address'),
      bridge: attr('source', 'bridge'),
      tap: attr('target', 'dev'),
      mtu: Number(attr('mtu', 'size') || 1500),
    });
  }
  return out;
}
