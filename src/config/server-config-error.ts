// The server's configuration error, apart from the parser (server-config.ts) that loads the whole
// server's settings: the CLI's exit mapping and the agent use it without loading that.

/** A setting the server cannot start with: unreadable file, malformed or out-of-range value. */
export class ServerConfigError extends Error {}
