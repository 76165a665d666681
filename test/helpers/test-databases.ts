import { openDatabase, type Database } from "../../core/db/open-database.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";
import { createScratchDatabase } from "./scratch-database.ts";

/**
 * The databases a database test runs against. By default one: the real Postgres named by
 * TEST_DATABASE_URL (CI always sets it: `.ci/run` starts one), or embedded PGlite when it is
 * unset (a developer without Postgres still runs every test).
 *
 * PGlite is what `airlock run` uses on a laptop, so it must keep working, but running the
 * whole suite on it a second time cost ~260 s for little: a focused set of files covers it
 * (schema and migrations, the audit ledger and `airlock audit verify`) by passing
 * `{ pglite: true }`, which returns PGlite and Postgres (skipped when there is none); the
 * run end to end on PGlite is `airlock run` itself (test/run/run-command.test.ts).
 */
export interface TestDatabaseKind {
  name: "pglite" | "postgres";
  /** Why this kind cannot run here, or undefined when it can. */
  skip: string | undefined;
  /** The shared, migrated test database (other test files' rows are in it too). */
  open(): Promise<Database>;
  /**
   * A migrated database of this test's own, for queries that span a whole table (run
   * claiming): in-memory PGlite, or a scratch Postgres database that `drop()` removes.
   */
  openPrivate(): Promise<{ database: Database; drop(): Promise<void> }>;
}

export interface TestDatabaseKindsOptions {
  /** Also run on PGlite when Postgres is there: for the focused PGlite files only. */
  pglite?: boolean;
}

export function testDatabaseKinds(
  options: TestDatabaseKindsOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): TestDatabaseKind[] {
  const url = env.TEST_DATABASE_URL;
  if (!url && env.CI) {
    throw new Error("CI is set but TEST_DATABASE_URL is not: run the tests through .ci/run");
  }
  const pglite: TestDatabaseKind = {
    name: "pglite",
    skip: undefined,
    async open() {
      const database = await openDatabase({ dataDir: "memory://" });
      await migrateDatabase(database);
      return database;
    },
    async openPrivate() {
      const database = await pglite.open();
      return { database, drop: () => database.close() };
    },
  };
  const postgres: TestDatabaseKind = {
    name: "postgres",
    skip: url ? undefined : "TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)",
    async open() {
      if (!url) throw new Error("TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)");
      const database = await openDatabase({ url, max: 20 });
      await migrateDatabase(database);
      return database;
    },
    async openPrivate() {
      if (!url) throw new Error("TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)");
      return createScratchDatabase(url);
    },
  };
  if (options.pglite) return [pglite, postgres];
  return [url ? postgres : pglite];
}
