import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "./open-database.ts";

export const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "migrations");

/**
 * Apply pending drizzle-kit migrations. Idempotent; safe at every start. On Postgres,
 * many runners may start at once: a dedicated connection holds an advisory lock so
 * exactly one applies the migrations and the others wait, then find nothing to do.
 */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === "postgres") {
    if (!database.url) throw new Error("postgres database without a URL");
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await client`select pg_advisory_lock(7461)`;
      await migrate(drizzle(client), { migrationsFolder });
    } finally {
      await client`select pg_advisory_unlock(7461)`.catch(() => undefined);
      await client.end({ timeout: 5 });
    }
  } else {
    const { migrate } = await import("drizzle-orm/pglite/migrator");
    await migrate(database.db as never, { migrationsFolder });
  }
}
