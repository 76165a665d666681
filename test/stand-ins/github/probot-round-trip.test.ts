import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createNodeMiddleware, Probot } from "probot";
import { startGitHubStandIn, type GitHubStandIn } from "./start-github-stand-in.ts";

/**
 * A real Probot app behind Probot's own webhook middleware: the stand-in's signed delivery
 * is accepted, Probot mints an installation token from the payload's `installation.id`
 * with the app JWT, and the app's writes land in the stand-in's state as the bot.
 */
describe("GitHub stand-in with a real Probot app", () => {
  const keys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const appId = 777;
  const secret = "probot-round-trip-secret";
  let gh: GitHubStandIn;
  let server: Server;
  const seen: string[] = [];

  before(async () => {
    gh = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKey, webhookSecret: secret });
    gh.createInstallation({ id: 31, account: "acme" });
    await gh.createRepo({
      owner: "acme",
      name: "widgets",
      installationId: 31,
      files: { ".github/airlock.yml": "agent: builtin\n" },
    });
    gh.setPermission("acme/widgets", "maintainer", "write");
    const probot = new Probot({
      appId,
      privateKey: keys.privateKey,
      secret,
      baseUrl: gh.apiUrl,
      logLevel: "fatal",
    });
    const middleware = await createNodeMiddleware(
      (app) => {
        app.on("issues.labeled", async (context) => {
          const { data: perm } = await context.octokit.rest.repos.getCollaboratorPermissionLevel(
            context.repo({ username: context.payload.sender.login }),
          );
          const config = await context.config<{ agent: string }>("airlock.yml");
          await context.octokit.rest.reactions.createForIssue(context.issue({ content: "eyes" }));
          await context.octokit.rest.issues.createComment(
            context.issue({ body: `role ${perm.role_name}, agent ${config?.agent ?? "none"}` }),
          );
          seen.push(context.id);
        });
      },
      { probot, webhooksPath: "/api/github/webhooks" },
    );
    server = createServer((req, res) => {
      void middleware(req, res, () => res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    gh.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`);
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gh.close();
  });

  it("handles a labeled issue end to end, as the bot, with no violations", async () => {
    const issue = gh.createIssue("acme/widgets", { title: "Do it", user: "maintainer" });
    const delivery = await gh.deliverLabeled({
      repo: "acme/widgets",
      issue: issue.number,
      label: "airlock",
      sender: "maintainer",
    });
    assert.equal(delivery.status, 200, delivery.body);
    assert.deepEqual(seen, [delivery.deliveryId]);
    assert.deepEqual(issue.labels, ["airlock"], "the builder applied the label it reports");
    const comments = gh.state.comments.filter(
      (c) => c.repo === "acme/widgets" && c.issueNumber === issue.number,
    );
    assert.deepEqual(
      comments.map((c) => [c.user, c.body]),
      [["airlock-test[bot]", "role write, agent builtin"]],
    );
    assert.ok(gh.state.reactions.some((r) => r.content === "eyes" && r.user === "airlock-test[bot]"));
    assert.equal(gh.state.tokens.length, 1, "Probot minted one installation token");
    assert.deepEqual(
      gh.requests.map((r) => `${r.operationId} ${r.status}`),
      [
        "apps/create-installation-access-token 201",
        "repos/get-collaborator-permission-level 200",
        "repos/get-content 200",
        "reactions/create-for-issue 201",
        "issues/create-comment 201",
      ],
    );

    const forged = await gh.deliverLabeled(
      {
        repo: "acme/widgets",
        issue: issue.number,
        label: "airlock",
        sender: "maintainer",
      },
      { secret: "not-the-secret" },
    );
    assert.equal(forged.status, 400);
    assert.equal(seen.length, 1, "a badly signed delivery never reaches the app");
  });
});
