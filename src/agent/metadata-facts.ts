// The metadata settings the planner takes (MetadataFacts), from the agent's configuration and the
// user and group the proxies run as (metadata_proxy_user/group unset: the agent's own). Pure.
import { defaultMetadataSocket, type MetadataFacts, type MetadataRateLimit } from '../planner/metadata.ts';
import { rateLimitingProblem, type AgentConfig, type MetadataRateLimitingConfig } from './config.ts';

/** What the proxies limit: nothing unless rate limiting is on for exactly one address family. */
function rateLimitOf(r: MetadataRateLimitingConfig): MetadataRateLimit | null {
  if (!r.enabled || rateLimitingProblem(r)) return null;
  return {
    ipVersion: r.ipVersions[0] === 6 ? 6 : 4,
    baseWindow: r.baseWindowDuration,
    baseLimit: r.baseQueryRateLimit,
    burstWindow: r.burstWindowDuration,
    burstLimit: r.burstQueryRateLimit,
  };
}

export function metadataFacts(cfg: Pick<AgentConfig, 'metadata' | 'statePath'>, identity: { user: string; group: string }): MetadataFacts {
  return {
    socket: cfg.metadata.socket ?? defaultMetadataSocket(cfg.statePath),
    user: identity.user,
    group: identity.group,
    enableIsolatedMetadata: cfg.metadata.enableIsolatedMetadata,
    forceMetadata: cfg.metadata.forceMetadata,
    enableMetadataProxy: cfg.metadata.enableMetadataProxy,
    rateLimit: rateLimitOf(cfg.metadata.rateLimiting),
  };
}
