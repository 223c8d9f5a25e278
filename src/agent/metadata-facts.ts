// The metadata settings the planner takes (MetadataFacts), from the agent's configuration and the
// user and group the proxies run as (metadata_proxy_user/group unset: the agent's own). Pure.
import { defaultMetadataSocket, type MetadataFacts } from '../planner/metadata.js';
import type { AgentConfig } from './config.js';

export function metadataFacts(cfg: Pick<AgentConfig, 'metadata' | 'statePath'>, identity: { user: string; group: string }): MetadataFacts {
  return {
    socket: cfg.metadata.socket ?? defaultMetadataSocket(cfg.statePath),
    user: identity.user,
    group: identity.group,
    enableIsolatedMetadata: cfg.metadata.enableIsolatedMetadata,
    forceMetadata: cfg.metadata.forceMetadata,
    enableMetadataProxy: cfg.metadata.enableMetadataProxy,
  };
}
