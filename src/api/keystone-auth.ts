// auth_strategy = keystone: each request's X-Auth-Token is checked with the configured Keystone
// (through the validation cache); Keystone unable to answer is a 503, as with keystonemiddleware.
import type { FastifyBaseLogger } from 'fastify';
import { KeystoneTokenValidator, KeystoneUnavailableError } from '../client/keystone.ts';
import type { AuthContext } from '../model/context.ts';
import { NeutronError } from '../model/errors.ts';
import { ServerConfigError, type KeystoneAuthtoken } from '../server-config.ts';
import { TlsFileError, tlsSettings, type TlsSettings } from '../client/tls-settings.ts';
import { CachedTokenValidation, contextOfToken } from './keystone-tokens.ts';

/** The caller's context for a token, or null when it is not valid; throws what the API answers otherwise. */
export type Authenticate = (token: string) => Promise<AuthContext | null>;

/** Validation results kept at most (each a few hundred bytes). */
const MAX_CACHED_TOKENS = 10_000;

/** The files cafile, certfile and keyfile name, read at start: one that cannot be read stops the server. */
function keystoneTls(k: KeystoneAuthtoken): TlsSettings {
  try {
    return tlsSettings(k.tls, '[keystone_authtoken]');
  } catch (e) {
    throw e instanceof TlsFileError ? new ServerConfigError(e.message) : e;
  }
}

export function keystoneAuthenticate(k: KeystoneAuthtoken, log: FastifyBaseLogger): Authenticate {
  const keystone = new KeystoneTokenValidator({
    authUrl: k.authUrl,
    timeoutMs: k.httpConnectTimeout * 1000,
    tls: keystoneTls(k),
    auth: {
      password: k.password,
      username: k.username,
      userId: k.userId,
      userDomainName: k.userDomainName,
      userDomainId: k.userDomainId,
      projectName: k.projectName,
      projectId: k.projectId,
      projectDomainName: k.projectDomainName,
      projectDomainId: k.projectDomainId,
    },
  });
  const cache = new CachedTokenValidation({
    validate: async (token) => {
      const body = await keystone.validate(token);
      return body ? contextOfToken(body) : null;
    },
    cacheTimeMs: k.tokenCacheTime * 1000,
    maxEntries: MAX_CACHED_TOKENS,
  });
  return async (token) => {
    try {
      return await cache.authenticate(token);
    } catch (e) {
      if (!(e instanceof KeystoneUnavailableError)) throw e;
      log.error({ reason: e.message }, 'unable to validate token');
      throw new NeutronError(503, 'HTTPServiceUnavailable', 'The Keystone service is temporarily unavailable.');
    }
  };
}
