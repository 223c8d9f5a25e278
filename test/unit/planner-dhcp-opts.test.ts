// Ports' extra DHCP options in dnsmasq's files, as Neutron's dhcp.py writes them: the hosts-file
// line sets the port's tag (or matches its client id), the opts file gives each option under that
// tag — `option:` by name, a bare number for DHCPv4, `option6:` for DHCPv6, a tag of the value's
// own kept — and an option of an IP version the port has no address of is left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOption, planDnsmasq } from '../../src/planner/dhcp.ts';
import { dhcpView, subnets, VM_MAC } from '../helpers/dhcp6-view.ts';
import type { HostView, PortView } from '../../src/model/hostview.ts';

const NET = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const VM = '3c338602-d806-488a-ae66-c4c8f8d13b9b';

/** The controller's view with the instance port's options `opts` (on the subnets `subs`). */
function withOpts(opts: PortView['extra_dhcp_opts'], subs = subnets(NET)): HostView {
  const view = dhcpView(NET, subs);
  const vm = { ...view.dhcp_ports[1]!, extra_dhcp_opts: opts };
  return { ...view, ports: [view.ports[0]!, vm], dhcp_ports: [view.dhcp_ports[0]!, vm] };
}
const files = (view: HostView) => planDnsmasq(view, NET, '/var/lib/neutron', 1450)!.files;
const lines = (text: string) => text.split('\n').filter(Boolean);

test('_format_option: option: by name, a DHCPv4 number bare, option6: for DHCPv6, the value’s own tag kept, line breaks cut', () => {
  assert.equal(formatOption(4, 'port-x', 'domain-search', 'example.com'), 'tag:port-x,option:domain-search,example.com');
  assert.equal(formatOption(4, 'port-x', '26', '1400'), 'tag:port-x,26,1400');
  assert.equal(formatOption(6, 'port-x', '23', '[2001:db8::9]'), 'tag:port-x,option6:23,[2001:db8::9]');
  assert.equal(
    formatOption(4, 'port-x', 'tag:ipxe,bootfile-name', 'http://boot/x.ipxe'),
    'tag:port-x,tag:ipxe,option:bootfile-name,http://boot/x.ipxe',
  );
  assert.equal(formatOption(4, 'port-x', 'tftp-server\nrest', '10.0.0.1\nrest'), 'tag:port-x,option:tftp-server,10.0.0.1');
});

test('extra options of both families: the port’s hosts lines set its tag, the opts file carries them after the subnets’', () => {
  const f = files(
    withOpts([
      { opt_name: 'domain-search', opt_value: 'example.com', ip_version: 4 },
      { opt_name: '26', opt_value: '1400', ip_version: 4 },
      { opt_name: 'dns-server', opt_value: '[2001:db8::9]', ip_version: 6 },
    ]),
  );
  const vmHosts = lines(f.host).filter((l) => l.startsWith(VM_MAC));
  assert.deepEqual(vmHosts, [
    `${VM_MAC},tag:dhcpv6,set:port-${VM}`,
    `${VM_MAC},host-172-16-1-3.openstacklocal.,172.16.1.3,set:port-${VM}`,
    `${VM_MAC},tag:dhcpv6,host-fd00-2--3.openstacklocal.,[fd00:2::3],set:port-${VM}`,
  ]);
  const opts = lines(f.opts);
  assert.deepEqual(opts.slice(-3), [
    `tag:port-${VM},option:domain-search,example.com`,
    `tag:port-${VM},26,1400`,
    `tag:port-${VM},option6:dns-server,[2001:db8::9]`,
  ]);
  // The DHCP port's lines are unchanged: no options of its own.
  assert.ok(
    lines(f.host)
      .filter((l) => l.startsWith('fa:16:3e:00:00:02'))
      .every((l) => !l.includes('set:')),
  );
});

test('a client-id option: matched by id in the hosts file, never in the opts file; set: only with other options', () => {
  const only = files(withOpts([{ opt_name: 'client-id', opt_value: '01:02:03', ip_version: 4 }], [subnets(NET)[0]!]));
  assert.deepEqual(
    lines(only.host).filter((l) => l.startsWith(VM_MAC)),
    [`${VM_MAC},id:01:02:03,host-172-16-1-3.openstacklocal.,172.16.1.3`],
  );
  assert.ok(!only.opts.includes('port-'));
  const more = files(
    withOpts(
      [
        { opt_name: '61', opt_value: '01:02:03', ip_version: 4 },
        { opt_name: 'mtu', opt_value: '1400', ip_version: 4 },
      ],
      [subnets(NET)[0]!],
    ),
  );
  assert.deepEqual(
    lines(more.host).filter((l) => l.startsWith(VM_MAC)),
    [`${VM_MAC},id:01:02:03,host-172-16-1-3.openstacklocal.,172.16.1.3,set:port-${VM}`],
  );
  assert.deepEqual(lines(more.opts).at(-1), `tag:port-${VM},option:mtu,1400`);
});

test('an option of an IP version the port has no address of is left out', () => {
  const f = files(withOpts([{ opt_name: 'dns-server', opt_value: '[2001:db8::9]', ip_version: 6 }], [subnets(NET)[0]!]));
  assert.ok(!f.opts.includes('port-'), f.opts);
});
