import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { registerPostgresClient } from "./read-postgres-client.ts";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: "postgres" | "pglite";
  /** The connection URL (postgres only). Contains the password: never log it. */
  url?: string;
  /** Where the data lives, with any password removed: safe to log. */
  describe: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite database is used. */
  url?: string | undefined;
  /** Folder for the embedded database (default `.airlock`); `memory://` keeps it in memory. */
  dataDir?: string;
  /** postgres.js pool size. */
  max?: number;
}

/**
 * Postgres through postgres.js when a URL is given, otherwise embedded PGlite under
 * `<dataDir>/pgdata`. Both speak to the same drizzle schema and migrations.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.url) {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const client = postgres(options.url, {
      max: options.max ?? 10,
      onnotice: () => {},
      // Keep failures fast: a proxy that cannot record must refuse promptly (DESIGN §5).
      connect_timeout: 5,
    });
    const url = new URL(options.url);
    url.password = "";
    const db = drizzle(client, { schema }) as unknown as Db;
    const registered = registerPostgresClient(db, client);
    return {
      db,
      kind: "postgres",
      url: options.url,
      describe: `postgres ${url.host}${url.pathname}`,
      close: () => {
        registered.forget();
        return client.end({ timeout: 5 });
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const dataDir = options.dataDir ?? ".airlock";
  let location: string;
  if (dataDir === "memory://") {
    location = "memory://";
  } else {
    location = join(dataDir, "pgdata");
    mkdirSync(location, { recursive: true });
  }
  const client = new PGlite(location);
  await client.waitReady;
  return {
    db: drizzle(client, { schema }) as unknown as Db,
    kind: "pglite",
    describe: `embedded PGlite at ${location}`,
    close: () => client.close(),
  };
}
