// An instance's NICs as its libvirt domain XML describes them (what nova writes to
// instances/<id>/libvirt.xml): the tap device, bridge, MAC and MTU of each bridge interface. Pure.

export interface DomainInterface {
  mac: string;
  bridge: string;
  tap: string;
  mtu: number;
}

/** The domain's bridge interfaces, in document order. */
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
