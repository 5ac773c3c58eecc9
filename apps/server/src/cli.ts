#!/usr/bin/env node
import { runCli } from './cli/run-cli.js';

const status = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
});
// `serve` keeps the process alive through its listening socket; every other command ends here.
if (status !== 0 || process.argv[2] !== 'serve') process.exitCode = status;
