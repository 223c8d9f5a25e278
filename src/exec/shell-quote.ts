// POSIX shell quoting for the rare places a command line must pass through a shell (ssh hands the
// remote side one string; the lab writes `export` lines). Pure.

/** `s` as one shell word: unchanged when it needs no quoting, else single-quoted. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
