import { generateKeyPairSync, randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { Db } from "../../core/db/open-database.ts";
import type { GitHubApi } from "../../core/github/github-api.ts";
import { createAirlockApp } from "../../app/create-airlock-app.ts";
import { createRefusalDesk, type RefusalDesk } from "../../app/replies/create-refusal-desk.ts";

let privateKey: string | undefined;

export interface TestApp {
  /**
   * Delivers a webhook in-process through Probot, as its HTTP middleware would after the
   * signature check, then waits until the refusal desk has posted what it queued.
   */
  receive(name: string, payload: Record<string, unknown>, id?: string): Promise<string>;
  /** The app's log lines, parsed. */
  logs: Record<string, unknown>[];
  /** Raw log text, to check that no payload text was logged. */
  rawLogs(): string;
}

/** The app as `airlock app` loads it, with a fake GitHub port in place of Octokit-backed calls. */
export async function startTestApp(options: {
  db: Db;
  github: GitHubApi;
  catalog?: readonly AgentDefinition[];
  maxTaskChars?: number;
  /** Default: a desk with no gap between refusals (Octokit's throttle is off here). */
  refusals?: RefusalDesk;
}): Promise<TestApp> {
  const refusals = options.refusals ?? createRefusalDesk({ gapMs: 0 });
  privateKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: "info" }, sink);
  const probot = new Probot({
    appId: 4242,
    privateKey,
    log: pino({ level: "silent" }),
    // No request may leave the process: the fake stands for every GitHub call.
    Octokit: ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } }),
  });
  await probot.load(
    createAirlockApp({
      db: options.db,
      logger,
      tokenSecret: "test-token-secret-0123456789abcdef",
      catalog: options.catalog,
      maxTaskChars: options.maxTaskChars,
      githubFor: () => options.github,
      refusalGitHubFor: async () => options.github,
      refusals,
    }),
  );
  return {
    async receive(name, payload, id = randomUUID()) {
      await probot.receive({ id, name, payload } as Parameters<Probot["receive"]>[0]);
      await refusals.idle();
      return id;
    },
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    rawLogs: () => lines.join("\n"),
  };
}
