import type { Sql } from "postgres";
import type { Db } from "./open-database.ts";

/**
 * The postgres.js client behind each open database, until it is closed. Not a shared
 * client: it only ties each Database openDatabase made to its own client (weakly, so a
 * dropped database takes its entry with it).
 */
const clients = new WeakMap<Db, Sql>();

/**
 * The postgres.js client behind a database openDatabase opened, while it is open; undefined
 * for PGlite, for a closed database and for any other drizzle instance. For statements that
 * must travel pipelined on one reserved connection (the proxy's call writer), which drizzle
 * cannot send. A reserved connection would reconnect a client that was ended, so a closed
 * database must not hand its client out.
 */
export function readPostgresClient(db: Db): Sql | undefined {
  return clients.get(db);
}

/** openDatabase's side: the client is handed out from now until `forget` is called (at close). */
export function registerPostgresClient(db: Db, client: Sql): { forget(): void } {
  clients.set(db, client);
  return { forget: () => clients.delete(db) };
}
