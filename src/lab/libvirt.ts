// The libvirt-style domain XML an instance gets (what nova writes to instances/<id>/libvirt.xml):
// the tracer reads the tap device, bridge and MAC from it (observe/libvirt.ts), as the operator in the
// scenario does. Pure.
import type { DomainInterface } from '../observe/libvirt.ts';

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
