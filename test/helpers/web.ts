// `neutrino web` started as a command: the address it serves on, from the line it prints.
import type { ChildProcess } from 'node:child_process';

/** Resolves with the page's URL once the command says where it serves; rejects if it exits first. */
export function webUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`neutrino web exited ${code}: ${out}${err}`)));
  });
}
