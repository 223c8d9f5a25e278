// `neutrino instance create|list|delete|exec`: instances in a lab, playing nova + libvirt.
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadLab } from '../lab/context.ts';
import { createInstance, deleteInstance, findInstance, instanceAddress, instanceAddresses } from '../lab/instance.ts';
import { checkUserData, listInstances, publicKeyOf } from '../lab/instance-state.ts';
import { inNetns, runInherit } from '../exec/run.ts';
import { table } from '../lab/status.ts';
import { LabUsageError } from '../lab/topology.ts';
import { commandAfterDashes, labOptions } from './lab-options.ts';

interface LabFlags {
  lab: string;
  stateRoot?: string;
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const collect = (v: string, all: string[]) => [...all, v];

export function registerInstanceCommand(program: Command): void {
  const inst = program
    .command('instance')
    .description('Instances in a lab: a namespace with eth0 on a tap, addressed by DHCP')
    .enablePositionalOptions();

  labOptions(inst.command('create').description('Create the port, the instance namespace and its NIC, and run a DHCP client in it'))
    .argument('<name>', 'instance name (its namespace is <lab>-i-<name>)')
    .requiredOption('--network <network>', 'network name or id')
    .requiredOption('--host <node>', 'node the instance runs on (binding:host_id)')
    .addOption(
      new Option('--security-group <group>', 'security group name or id (repeatable)')
        .argParser(collect)
        .default([], "the project's default group"),
    )
    .option('--fixed-ip <ip>', 'the fixed IP to ask for')
    .addOption(new Option('--project <name>', 'the project that owns the port').choices(['demo', 'admin']).default('demo'))
    .option('--dhcp-timeout <seconds>', 'how long to wait for the DHCP address', '20')
    .option('--ssh-key <file>', 'an OpenSSH public key file the instance gets from the metadata service (public-keys/0/openssh-key)')
    .option('--key-name <name>', "the key's name in the metadata (Nova's key pair name); without it, the file's name less .pub")
    .option('--user-data <file>', 'user data the instance gets from the metadata service (openstack/latest/user_data, latest/user-data)')
    .action(
      async (
        name: string,
        f: LabFlags & {
          network: string;
          host: string;
          securityGroup: string[];
          fixedIp?: string;
          project: 'demo' | 'admin';
          dhcpTimeout: string;
          sshKey?: string;
          keyName?: string;
          userData?: string;
        },
      ) => {
        const dhcpTimeoutMs = Number(f.dhcpTimeout) * 1000;
        if (!(dhcpTimeoutMs > 0)) throw new LabUsageError(`invalid --dhcp-timeout '${f.dhcpTimeout}'`);
        if (f.keyName && !f.sshKey) throw new LabUsageError('--key-name names the key of --ssh-key: give --ssh-key FILE too');
        const publicKeys = f.sshKey ? [readPublicKey(f.sshKey, f.keyName)] : [];
        const { record, seconds } = await createInstance(loadLab(f), {
          name,
          network: f.network,
          host: f.host,
          securityGroups: f.securityGroup,
          fixedIp: f.fixedIp,
          project: f.project,
          dhcpTimeoutMs,
          publicKeys,
          ...(f.userData !== undefined ? { userData: readUserData(f.userData) } : {}),
          print,
        });
        print(
          record.ip
            ? `instance ${name}: address ${record.ip} by DHCP after ${seconds.toFixed(1)} s`
            : `instance ${name}: no IPv4 address on its network (IPv6 from router advertisements or DHCPv6)`,
        );
      },
    );

  labOptions(inst.command('list').description("List the lab's instances"))
    .option('--json', 'print JSON')
    .action(async (f: LabFlags & { json?: boolean }) => {
      const ctx = loadLab(f);
      const rows = await Promise.all(
        listInstances(ctx.paths).map(async (r) => ({
          name: r.name,
          id: r.id,
          host: r.host,
          network: r.network.name,
          port_id: r.port.id,
          mac: r.port.mac,
          ip: ((await instanceAddress(r.namespace)) ?? '').split('/')[0] || null,
          addresses: (await instanceAddresses(r.namespace)).map((a) => a.split('/')[0]!),
          namespace: r.namespace,
          tap: r.tap,
        })),
      );
      if (f.json) print(JSON.stringify(rows, null, 2));
      else
        print(
          table([
            ['NAME', 'ID', 'HOST', 'NETWORK', 'PORT', 'MAC', 'ADDRESSES', 'NAMESPACE'],
            ...rows.map((r) => [r.name, r.id, r.host, r.network, r.port_id, r.mac, r.addresses.join(',') || '-', r.namespace]),
          ]).trimEnd(),
        );
    });

  labOptions(inst.command('delete').description('Delete an instance: its processes, namespace, tap, port and files'))
    .argument('<name>', 'instance name')
    .action((name: string, f: LabFlags) => deleteInstance(loadLab(f), name, print));

  labOptions(inst.command('exec').description("Run a command in an instance's namespace"))
    .argument('<name>', 'instance name')
    .argument('<cmd...>', 'the command, after --')
    .passThroughOptions()
    .action(async (name: string, cmd: string[], f: LabFlags) => {
      process.exit(await runInherit(inNetns(commandAfterDashes(cmd), findInstance(loadLab(f), name).namespace)));
    });
}

/** The file's bytes, base64-encoded as Nova keeps user data. */
function readUserData(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new LabUsageError(`cannot read --user-data ${file}: ${(e as Error).message}`);
  }
  return checkUserData(bytes.toString('base64'));
}

function readPublicKey(file: string, name?: string): { name: string; key: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LabUsageError(`cannot read --ssh-key ${file}: ${(e as Error).message}`);
  }
  return publicKeyOf(text, name ?? basename(file).replace(/\.pub$/, ''), file);
}
