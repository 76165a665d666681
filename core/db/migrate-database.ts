import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "./open-database.ts";

export const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "migrations");

/** Apply pending drizzle-kit migrations. Idempotent; safe to call at every start. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === "postgres") {
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    await migrate(database.db as never, { migrationsFolder });
  } else {
    const { migrate } = await import("drizzle-orm/pglite/migrator");
    await migrate(database.db as never, { migrationsFolder });
  }
}
