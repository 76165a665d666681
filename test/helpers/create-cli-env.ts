/**
 * The environment an `airlock` command gets in a test: its own data folder, and the suite's
 * Postgres when it has one (faster than opening an embedded database per command).
 */
export function createCliEnv(dataDir: string, tokenSecret: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    AIRLOCK_DATA_DIR: dataDir,
    AIRLOCK_TOKEN_SECRET: tokenSecret,
    AIRLOCK_LOG_LEVEL: "silent",
  };
  if (process.env.TEST_DATABASE_URL) env.DATABASE_URL = process.env.TEST_DATABASE_URL;
  return env;
}
