// What the tracer needs of a neutrino lab. The tracer reads any Neutron cloud and knows nothing of
// labs itself: the CLI layer (src/cli/trace-lab.ts) gives it this, read from the lab's state.
import type { LabSource } from './read/gather.ts';

/** An instance of a lab: its namespace is where its traffic starts. */
export interface LabInstance {
  id: string;
  name: string;
  namespace: string;
  port: { id: string };
}

export interface TraceLabs {
  /** the lab traced when no other source is given */
  defaultLab: string;
  /** the external host's client, beyond the upstream router: where a lab's inbound traffic comes from */
  upstreamClient: string;
  /** the running lab's admin API client and how to read each of its nodes; throws when the lab is not up */
  source(lab: string): LabSource;
  /** the namespace of the lab's external host; throws when the lab is not up */
  externalNamespace(lab: string): string;
  /** the lab's instances, as recorded on this machine */
  instances(lab: string): LabInstance[];
}
