#!/usr/bin/env node
// Runs the test suite with Node's test runner. `npm test` = type-check, lint, format
// check, then every test file; `--only-tests` skips the static checks; other
// arguments are folders or files under test/ to run instead of all of them.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const onlyTests = args.includes("--only-tests");
const targets = args.filter((a) => !a.startsWith("--"));

function run(cmd, cmdArgs) {
  const started = Date.now();
  const result = spawnSync(cmd, cmdArgs, { stdio: "inherit" });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `[test] ${cmd} ${cmdArgs.slice(0, 3).join(" ")} … ${result.status === 0 ? "ok" : "FAILED"} (${seconds}s)\n`,
  );
  return result.status ?? 1;
}

function collect(path) {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .sort()
      .flatMap((name) => collect(join(path, name)));
  }
  return path.endsWith(".test.ts") ? [path] : [];
}

if (!onlyTests) {
  for (const [cmd, cmdArgs] of [
    ["tsc", ["-p", "tsconfig.json", "--noEmit"]],
    ["eslint", ["."]],
    ["prettier", ["--check", "--log-level", "warn", "."]],
  ]) {
    if (run(cmd, cmdArgs) !== 0) process.exit(1);
  }
}

const files = (targets.length > 0 ? targets : ["test"]).flatMap(collect);
if (files.length === 0) {
  process.stderr.write("[test] no test files found\n");
  process.exit(1);
}
const concurrency = process.env.AIRLOCK_TEST_CONCURRENCY ?? "2";
process.exit(
  run(process.execPath, ["--test", `--test-concurrency=${concurrency}`, "--test-timeout=600000", ...files]),
);
