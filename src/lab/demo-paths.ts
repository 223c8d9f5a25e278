// Where the demo's SSH server wrapper lives (compiled). Pure.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The compiled wrapper src/lab/demo-sshd.ts, run with node in the instance's namespaces. */
export const DEMO_SSHD = join(repo, 'dist', 'lab', 'demo-sshd.js');
