#!/usr/bin/env node
// Runs the test suite with Node's test runner. `npm test` = type-check, lint, format
// check, then every test file; `--only-tests` skips the static checks; `--unit` runs only
// the unit tests (no static checks); other arguments are folders or files under test/ to
// run instead of all of them. The spec output is followed by the slowest test files.
//
// A unit test needs no Docker, no database and no child process: the files under
// test/unit/ and any test file whose first line starts with `// @unit`. They run with
// Docker pointed nowhere and no TEST_DATABASE_URL, so one that reaches for either fails.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, normalize, sep } from "node:path";

const args = process.argv.slice(2);
const unit = args.includes("--unit");
const onlyTests = unit || args.includes("--only-tests");
const targets = args.filter((a) => !a.startsWith("--"));

function run(cmd, cmdArgs, env = process.env) {
  const started = Date.now();
  const result = spawnSync(cmd, cmdArgs, { stdio: "inherit", env });
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

function isUnitTest(file) {
  if (normalize(file).startsWith(`test${sep}unit${sep}`)) return true;
  return readFileSync(file, "utf8").startsWith("// @unit");
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

const collected = (targets.length > 0 ? targets : ["test"]).flatMap(collect);
const files = unit ? collected.filter(isUnitTest) : collected;
if (files.length === 0) {
  process.stderr.write("[test] no test files found\n");
  process.exit(1);
}
const env = { ...process.env };
if (unit) {
  env.DOCKER_HOST = "unix:///nonexistent/unit-tests-use-no-docker.sock";
  delete env.TEST_DATABASE_URL;
}
const concurrency = env.AIRLOCK_TEST_CONCURRENCY ?? "2";
process.exit(
  run(
    process.execPath,
    [
      "--test",
      `--test-concurrency=${concurrency}`,
      "--test-timeout=600000",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      `--test-reporter=${join(import.meta.dirname, "report-slowest-test-files.js")}`,
      "--test-reporter-destination=stdout",
      ...files,
    ],
    env,
  ),
);
