import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { auditHead } from "../../core/audit/audit-head.ts";
import { verifyAuditEntries, type StoredAuditEntry } from "../../core/audit/verify-audit-chain.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";
import { openDatabase, type Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

const secret = "test-audit-cli-secret-0123456789abcdef01234567";
const bin = join(import.meta.dirname, "..", "..", "bin", "airlock.js");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // Only what the command needs: the test's own DATABASE_URL or secret must not leak in.
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? "", AIRLOCK_LOG_LEVEL: "silent", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The database as the child process sees it. PGlite is one process's file: the test
 * closes its handle before each CLI call (`release`) and reopens it after.
 */
interface CliDatabase {
  env: Record<string, string>;
  withDb<T>(use: (database: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function openCliDatabase(kind: ReturnType<typeof testDatabaseKinds>[number]): Promise<CliDatabase> {
  if (kind.name === "postgres") {
    const database = await kind.open();
    return {
      env: { DATABASE_URL: process.env.TEST_DATABASE_URL ?? "" },
      withDb: (use) => use(database),
      close: () => database.close(),
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), "airlock-audit-cli-"));
  return {
    env: { AIRLOCK_DATA_DIR: dataDir },
    async withDb(use) {
      const database = await openDatabase({ dataDir });
      try {
        await migrateDatabase(database);
        return await use(database);
      } finally {
        await database.close();
      }
    },
    close: () => rm(dataDir, { recursive: true, force: true }),
  };
}

const [defaultKind] = testDatabaseKinds();

for (const kind of testDatabaseKinds({ pglite: true })) {
  describe(`airlock audit on ${kind.name}`, { skip: kind.skip }, () => {
    // Every CLI call opens the database anew, which costs seconds on PGlite: besides the
    // default database, PGlite runs the verify case only (its data-dir path through the CLI).
    const beyondVerify = {
      skip: kind.name === defaultKind?.name ? false : "covered on the default database; PGlite runs verify",
    };
    let cliDb: CliDatabase;
    let env: Record<string, string>;
    const runId = newRunId();
    let head: string | undefined;
    let checkpoint: string | undefined;
    before(async () => {
      cliDb = await openCliDatabase(kind);
      env = { ...cliDb.env, AIRLOCK_TOKEN_SECRET: secret };
      head = await cliDb.withDb(async ({ db }) => {
        await ensureRun(db, { id: runId, kind: "local", agent: "builtin" });
        for (const reason of ["é ✓", "second", "third", "fourth"]) {
          await appendAuditEvent(db, { runId, type: "run.error", data: { reason }, secret });
          if (reason === "second") checkpoint = await auditHead(db, runId);
        }
        await appendAuditEvent(db, {
          runId,
          type: "relay.pushed",
          data: { branch: "airlock/x", commit: "c0ffee", remoteRef: "refs/heads/airlock/x" },
          secret,
        });
        return auditHead(db, runId);
      });
    });
    after(async () => {
      await cliDb?.close();
    });

    it("verify prints the entry count and head and exits 0", async () => {
      const result = await runCli(["audit", "verify", runId], env);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `ok: 5 entries, head ${head}\n`);
      const pinned = await runCli(["audit", "verify", runId, "--head", head ?? ""], env);
      assert.equal(pinned.code, 0);
    });

    it("verify --head takes an earlier entry as a checkpoint (like the Airlock-Audit trailer) and refuses a hash not in the chain", async () => {
      const atCheckpoint = await runCli(["audit", "verify", runId, "--head", checkpoint ?? ""], env);
      assert.equal(atCheckpoint.stderr, "");
      assert.equal(atCheckpoint.code, 0);
      assert.equal(
        atCheckpoint.stdout,
        `ok: 5 entries, head ${head}\ncheckpoint ${checkpoint} is entry 2; 3 later entries follow it\n`,
      );
      const foreign = await runCli(["audit", "verify", runId, "--head", "0".repeat(63) + "1"], env);
      assert.equal(foreign.code, 1);
      assert.match(
        foreign.stderr,
        /fails at position 6: the chain ends at \S+ and never reaches the expected head/,
      );
    });

    it(
      "export writes the JSONL to stdout and to --output, and the lines re-verify",
      beyondVerify,
      async () => {
        const toStdout = await runCli(["audit", "export", runId], env);
        assert.equal(toStdout.code, 0, toStdout.stderr);
        const lines = toStdout.stdout.trimEnd().split("\n");
        assert.equal(lines.length, 5);
        const entries = lines.map((l) => {
          const p = JSON.parse(l) as Omit<StoredAuditEntry, "at"> & { at: string };
          return { ...p, at: new Date(p.at) };
        });
        assert.deepEqual(
          entries.map((e) => e.type),
          ["run.error", "run.error", "run.error", "run.error", "relay.pushed"],
        );
        assert.deepEqual(verifyAuditEntries(runId, entries, secret), { ok: true, count: 5, head });

        const dir = await mkdtemp(join(tmpdir(), "airlock-audit-export-"));
        try {
          const file = join(dir, "ledger.jsonl");
          const toFile = await runCli(["audit", "export", runId, "--output", file], env);
          assert.equal(toFile.code, 0, toFile.stderr);
          assert.equal(toFile.stdout, "");
          assert.match(toFile.stderr, /exported 5 entries/);
          assert.equal(await readFile(file, "utf8"), toStdout.stdout);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    );

    it(
      "unknown run: exit 2 with a clear message; missing secret: exit 2 naming the variable",
      beyondVerify,
      async () => {
        const unknown = await runCli(["audit", "verify", "rnosuchrun"], env);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /no run rnosuchrun in this database/);
        const unknownExport = await runCli(["audit", "export", "rnosuchrun"], env);
        assert.equal(unknownExport.code, 2);
        assert.equal(unknownExport.stdout, "");

        const noSecret = await runCli(["audit", "verify", runId], cliDb.env);
        assert.equal(noSecret.code, 2);
        assert.match(noSecret.stderr, /AIRLOCK_TOKEN_SECRET/);
      },
    );

    it("a wrong secret or a tampered row: exit 1 naming the first bad position", beyondVerify, async () => {
      const wrongSecret = await runCli(["audit", "verify", runId], {
        ...cliDb.env,
        AIRLOCK_TOKEN_SECRET: "another-secret-another-secret-another-secret",
      });
      assert.equal(wrongSecret.code, 1);
      assert.match(wrongSecret.stderr, /fails at position 1: hmac mismatch/);

      await cliDb.withDb(({ db }) =>
        db.execute(sql`delete from audit_events where run_id = ${runId} and seq = 3`),
      );
      const broken = await runCli(["audit", "verify", runId], env);
      assert.equal(broken.code, 1);
      assert.equal(broken.stdout, "");
      assert.match(broken.stderr, /audit ledger of run \S+ fails at position 3: found seq 4/);
    });
  });
}
