import { openDatabase, type Database } from "../../core/db/open-database.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";

/**
 * The databases every database test runs against: embedded PGlite and, when
 * TEST_DATABASE_URL is set, a real Postgres (CI always sets it: `.ci/run` starts one).
 */
export interface TestDatabaseKind {
  name: "pglite" | "postgres";
  /** Why this kind cannot run here, or undefined when it can. */
  skip: string | undefined;
  open(): Promise<Database>;
}

export function testDatabaseKinds(env: NodeJS.ProcessEnv = process.env): TestDatabaseKind[] {
  const url = env.TEST_DATABASE_URL;
  if (!url && env.CI) {
    throw new Error("CI is set but TEST_DATABASE_URL is not: run the tests through .ci/run");
  }
  return [
    {
      name: "pglite",
      skip: undefined,
      async open() {
        const database = await openDatabase({ dataDir: "memory://" });
        await migrateDatabase(database);
        return database;
      },
    },
    {
      name: "postgres",
      skip: url ? undefined : "TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)",
      async open() {
        const database = await openDatabase({ url: url!, max: 20 });
        await migrateDatabase(database);
        return database;
      },
    },
  ];
}
