import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { createAirlockApp } from "../../app/create-airlock-app.ts";
import type { RefusalDesk } from "../../app/replies/create-refusal-desk.ts";
import type { Db } from "../../core/db/open-database.ts";
import { createLaneGitHubApi } from "../../core/github/create-lane-github-api.ts";
import { createOctokitGitHubApi } from "../../core/github/create-octokit-github-api.ts";
import type { GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";

export interface AppOverHttp {
  close(): Promise<void>;
}

/**
 * The app as deployed: Probot's HTTP middleware on loopback, taking the stand-in's signed
 * webhooks, its GitHub calls made through the one Octokit adapter against the stand-in.
 * DEBUG_APP=1 shows the app's log.
 */
export async function serveAppOverHttp(options: {
  gh: GitHubStandIn;
  appId: number;
  privateKey: string;
  webhookSecret: string;
  db: Db;
  tokenSecret: string;
  refusals: RefusalDesk;
  /** Octokit's write throttle, as Probot sets it in production; retries are always off (the stand-in never asks for one). */
  throttle: boolean;
}): Promise<AppOverHttp> {
  const probot = new Probot({
    appId: options.appId,
    privateKey: options.privateKey,
    secret: options.webhookSecret,
    baseUrl: options.gh.apiUrl,
    log: pino({ level: "silent" }),
    Octokit: ProbotOctokit.defaults(
      options.throttle
        ? { retry: { enabled: false } }
        : { retry: { enabled: false }, throttle: { enabled: false } },
    ),
  });
  const middleware = await createNodeMiddleware(
    createAirlockApp({
      db: options.db,
      logger: pino({ level: process.env.DEBUG_APP ? "debug" : "silent" }),
      tokenSecret: options.tokenSecret,
      githubFor: createOctokitGitHubApi,
      refusalGitHubFor: (octokit, id) => createLaneGitHubApi(octokit, `airlock-refusals-${id}`),
      refusals: options.refusals,
    }),
    { probot },
  );
  const server = createServer((req, res) => {
    void middleware(req, res, () => {
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  options.gh.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`);
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
