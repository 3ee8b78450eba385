#!/usr/bin/env node
import { openStores } from "./backend.js";
import { runCli } from "./run.js";

const code = await runCli(
  process.argv.slice(2),
  { out: (l) => void process.stdout.write(`${l}\n`), err: (l) => void process.stderr.write(`${l}\n`), env: process.env },
  openStores,
);
process.exitCode = code;
