#!/usr/bin/env node
// Runs the test suite with Node's test runner. `npm test` = type-check, lint, format
// check, then every test file; `--only-tests` skips the static checks; `--unit` runs only
// the unit tests (no static checks); other arguments are folders or files under test/ to
// run instead of all of them. The spec output is followed by the slowest test files.
// The static checks run at once (each one's output is printed when all are done).
//
// A unit test needs no Docker, no database and no child process: the files under
// test/unit/ and any test file whose first line starts with `// @unit`. They run with
// Docker pointed nowhere and no TEST_DATABASE_URL, so one that reaches for either fails.
import { spawn, spawnSync } from "node:child_process";
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

/** Runs a command with its output held back, so that several can run at once and print in turn. */
function runQuietly(cmd, cmdArgs) {
  const started = Date.now();
  return new Promise((resolveRun) => {
    const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "pipe"] });
    const output = [];
    child.stdout.on("data", (chunk) => output.push(chunk));
    child.stderr.on("data", (chunk) => output.push(chunk));
    child.on("error", (error) => output.push(Buffer.from(`${error.message}\n`)));
    child.on("close", (code) =>
      resolveRun({
        cmd,
        cmdArgs,
        code: code ?? 1,
        output: Buffer.concat(output),
        seconds: (Date.now() - started) / 1000,
      }),
    );
  });
}

if (!onlyTests) {
  // Independent static checks: at once (type-aware lint is the slowest; it overlaps the rest).
  const checks = await Promise.all([
    runQuietly("tsc", ["-p", "tsconfig.json", "--noEmit"]),
    runQuietly("eslint", ["."]),
    runQuietly("prettier", ["--check", "--log-level", "warn", "."]),
  ]);
  for (const check of checks) {
    process.stdout.write(check.output);
    process.stderr.write(
      `[test] ${check.cmd} ${check.cmdArgs.slice(0, 3).join(" ")} … ${check.code === 0 ? "ok" : "FAILED"} (${check.seconds.toFixed(1)}s)\n`,
    );
  }
  if (checks.some((check) => check.code !== 0)) process.exit(1);
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
