// The lab's clouds.yaml (for the `openstack` CLI and openstacksdk) and the shell lines of
// `neutrino lab env`. Pure.
import { shellQuote } from '../exec/shell-quote.ts';

export interface CloudEntry {
  name: string;
  username: string;
  password: string;
  project: string;
}

/** Double-quoted YAML scalar (JSON strings are valid YAML). */
const q = (s: string) => JSON.stringify(s);

export function renderCloudsYaml(serverUrl: string, clouds: CloudEntry[]): string {
  const body = clouds
    .map(
      (c) => `  ${q(c.name)}:
    auth:
      auth_url: ${q(`${serverUrl}/identity/v3`)}
      username: ${q(c.username)}
      password: ${q(c.password)}
      project_name: ${q(c.project)}
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`,
    )
    .join('');
  return `# written by neutrino lab up\nclouds:\n${body}`;
}

/** The lab's two clouds: `<lab>-admin` (admin in project admin) and `<lab>` (demo in project demo). */
export function labClouds(lab: string, adminPassword: string, demoPassword: string): CloudEntry[] {
  return [
    { name: `${lab}-admin`, username: 'admin', password: adminPassword, project: 'admin' },
    { name: lab, username: 'demo', password: demoPassword, project: 'demo' },
  ];
}

export function envLines(cloudsFile: string, cloud: string): string {
  return `export OS_CLIENT_CONFIG_FILE=${shellQuote(cloudsFile)}\nexport OS_CLOUD=${shellQuote(cloud)}\n`;
}
