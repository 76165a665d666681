import { randomBytes } from "node:crypto";
import { openDatabase, type Database } from "../../core/db/open-database.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";

export interface ScratchDatabase {
  database: Database;
  /** The postgres:// URL of the scratch database (contains the test password). */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated Postgres database of its own, for tests whose queries span the whole
 * table (run claiming): the shared test database holds other test files' runs.
 */
export async function createScratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const name = `airlock_t_${randomBytes(6).toString("hex")}`;
  const admin = await openDatabase({ url: baseUrl, max: 1 });
  const { sql } = await import("drizzle-orm");
  await admin.db.execute(sql.raw(`create database ${name}`));
  await admin.close();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), max: 10 });
  await migrateDatabase(database);
  return {
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      const again = await openDatabase({ url: baseUrl, max: 1 });
      await again.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
      await again.close();
    },
  };
}
