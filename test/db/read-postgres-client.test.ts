import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readPostgresClient } from "../../core/db/read-postgres-client.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

// The proxy's call writer sends its transaction pipelined only through this client; were it
// lost, every batch would silently take the slow path (about twelve round trips instead of two).
for (const kind of testDatabaseKinds({ pglite: true })) {
  describe(`readPostgresClient on ${kind.name}`, { skip: kind.skip }, () => {
    it("hands out an open Postgres database's own client, and nothing once it is closed or for PGlite", async () => {
      const database = await kind.open();
      let closed = false;
      try {
        const client = readPostgresClient(database.db);
        if (database.kind === "pglite") {
          assert.equal(client, undefined);
          return;
        }
        assert.ok(client, "an open Postgres database has its client");
        const [row] = await client.unsafe<{ one: number }[]>("select 1 as one");
        assert.equal(row?.one, 1);
        await database.close();
        closed = true;
        // A reserved connection would reconnect an ended client and outlive the database.
        assert.equal(readPostgresClient(database.db), undefined);
      } finally {
        if (!closed) await database.close();
      }
    });
  });
}
