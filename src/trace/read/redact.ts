// Secrets never enter a snapshot: a recorded agent configuration is evidence meant to be attached to
// bug reports, so the values of password-like options are replaced. Pure.

const SECRET_OPTION = /^(\s*[^=\s#;]*(?:password|secret|token|credential)[^=\s]*\s*=\s*)(.*)$/i;

export const REDACTED = '<redacted>';

/** The INI text with every password/secret/token option's value replaced by <redacted>. */
export function redactIni(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = SECRET_OPTION.exec(line);
      return m && m[2]!.trim() !== '' ? `${m[1]}${REDACTED}` : line;
    })
    .join('\n');
}
