import type { Writable } from "node:stream";
import type { Database } from "../core/db/open-database.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { loadSettings, type Settings } from "../core/settings/load-settings.ts";

/**
 * What every command gets from the entry point. Settings are parsed on first use, so
 * `--help` works with a broken environment.
 */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  settings(): Settings;
  logger(bindings?: Record<string, unknown>): Logger;
  /** Open the configured database and apply pending migrations. The caller closes it. */
  openMigratedDatabase(): Promise<Database>;
}

export function createCliContext(env: NodeJS.ProcessEnv, stdout: Writable, stderr: Writable): CliContext {
  let settings: Settings | undefined;
  const context: CliContext = {
    env,
    stdout,
    stderr,
    settings() {
      settings ??= loadSettings(env);
      return settings;
    },
    logger(bindings = {}) {
      return createLogger(context.settings().logLevel, bindings);
    },
    async openMigratedDatabase() {
      // Loaded on use: the database drivers cost hundreds of ms of start-up that commands
      // without a database (sandbox exec, --help) should not pay.
      const [{ openDatabase }, { migrateDatabase }] = await Promise.all([
        import("../core/db/open-database.ts"),
        import("../core/db/migrate-database.ts"),
      ]);
      const s = context.settings();
      const database = await openDatabase({ url: s.databaseUrl, dataDir: s.dataDir });
      try {
        await migrateDatabase(database);
      } catch (error) {
        await database.close();
        throw error;
      }
      return database;
    },
  };
  return context;
}
