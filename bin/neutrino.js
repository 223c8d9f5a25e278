#!/usr/bin/env node
// Entry point: runs the compiled CLI.
import { main } from '../dist/cli/index.js';

await main(process.argv);
