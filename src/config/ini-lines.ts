// Where each option of an INI config file is set: section, option and line, so that a warning about
// an option names the place an operator edits. Reads the layout oslo.config reads (the values
// themselves are parsed by `ini`; this only locates them).

export interface IniOption {
  section: string;
  option: string;
  /** 1-based line of the `option = value` line */
  line: number;
}

const SECTION = /^\[([^\]]+)\]\s*$/;
const OPTION = /^([^=:\s][^=:]*?)\s*[=:]/;

/** Every `option = value` line with its section (options before any section are in DEFAULT). */
export function iniOptions(text: string): IniOption[] {
  const out: IniOption[] = [];
  let section = 'DEFAULT';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const s = SECTION.exec(line);
    if (s) {
      section = s[1].trim();
      return;
    }
    // Indented lines continue the previous value in oslo.config.
    if (/^\s/.test(raw)) return;
    const o = OPTION.exec(line);
    if (o) out.push({ section, option: o[1].trim(), line: i + 1 });
  });
  return out;
}
