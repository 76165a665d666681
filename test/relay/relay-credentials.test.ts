import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { prepareRunCheckout } from "../../runner/relay/prepare-run-checkout.ts";
import { fillOperatorCredentials } from "../../runner/relay/fill-operator-credentials.ts";
import { pushBranch } from "../../runner/relay/push-branch.ts";
import { RelayError } from "../../runner/relay/relay-error.ts";
import { relayWorkspace } from "../../runner/relay/relay-workspace.ts";
import { writeFile } from "node:fs/promises";
import { createBareRemote, createSourceRepo, git } from "../helpers/git-repo.ts";
import { defaultPolicy, makeTempDir, removeDir, silentLogger } from "./relay-fixture.ts";
import { startGitHttpServer, type GitHttpServer } from "./git-http-server.ts";

const username = "x-access-token";
const password = "ghs_TestOnlyInstallationToken0123456789";
const basic = Buffer.from(`${username}:${password}`).toString("base64");

function assertNoSecret(text: string, where: string): void {
  assert.ok(!text.includes(password), `${where} holds the password`);
  assert.ok(!text.includes(basic), `${where} holds the Basic header`);
  assert.doesNotMatch(text, /extraheader/i, `${where} holds an extra header`);
}

async function assertCleanClone(hostClone: string): Promise<void> {
  assertNoSecret(await readFile(join(hostClone, ".git/config"), "utf8"), "the host clone's .git/config");
}

describe("git relay credentials over HTTP", () => {
  let root: string;
  let server: GitHttpServer;
  let failing: GitHttpServer;

  before(async () => {
    root = await makeTempDir("credentials");
    const source = await createSourceRepo(join(root, "source"), { "README.md": "# Demo\n" });
    createBareRemote(source, join(root, "served", "repo.git"));
    server = await startGitHttpServer({ projectRoot: join(root, "served"), username, password });
    failing = await startGitHttpServer({
      projectRoot: join(root, "served"),
      username,
      password,
      failPushes: true,
    });
  });

  after(async () => {
    await server.close();
    await failing.close();
    await removeDir(root);
  });

  it("clones and pushes with a per-command header that never reaches .git/config", async () => {
    const repo = `${server.url}/repo.git`;
    const baseDir = join(root, "run-ok");
    const checkout = await prepareRunCheckout({
      repo,
      runId: "run_http",
      baseDir,
      credentials: { username, password },
      logger: silentLogger,
    });
    await assertCleanClone(checkout.hostClone);
    await writeFile(join(checkout.workspace, "README.md"), "# Demo over HTTP\n");
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_http",
      branch: "airlock/run_http",
      message: { subject: "Over HTTP", body: "" },
      trailers: { "Airlock-Run": "run_http" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    const before = server.authorizations.length;
    const pushed = await pushBranch({
      hostClone: checkout.hostClone,
      remote: repo,
      branch: "airlock/run_http",
      credentials: { username, password },
      logger: silentLogger,
    });
    assert.equal(pushed.commit, result.commit);
    assert.ok(server.authorizations.slice(before).includes(`Basic ${basic}`));
    assert.equal(
      git(join(root, "served", "repo.git"), ["rev-parse", "refs/heads/airlock/run_http"]).trim(),
      result.commit,
    );
    await assertCleanClone(checkout.hostClone);
    assertNoSecret(
      await readFile(join(checkout.workspace, ".git/config"), "utf8"),
      "the workspace's .git/config",
    );
  });

  it("moves credentials out of a URL before git can store them", async () => {
    const baseDir = join(root, "run-embedded");
    const checkout = await prepareRunCheckout({
      repo: `${server.url.replace("http://", `http://${username}:${password}@`)}/repo.git`,
      runId: "run_embedded",
      baseDir,
      logger: silentLogger,
    });
    await assertCleanClone(checkout.hostClone);
    assert.equal(git(checkout.hostClone, ["config", "remote.origin.url"]).trim(), `${server.url}/repo.git`);
  });

  it("keeps the password out of the error when the server refuses", async () => {
    const wrong = "ghs_WrongTokenForTheTestOnly987654321";
    const error = await prepareRunCheckout({
      repo: `${server.url}/repo.git`,
      runId: "run_denied",
      baseDir: join(root, "run-denied"),
      credentials: { username, password: wrong },
      logger: silentLogger,
    }).then(
      () => assert.fail("the clone should have been refused"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RelayError);
    assert.match(error.message, /clone/);
    assert.ok(!error.message.includes(wrong));
    assert.ok(!error.message.includes(Buffer.from(`${username}:${wrong}`).toString("base64")));

    const baseDir = join(root, "run-push-fails");
    const checkout = await prepareRunCheckout({
      repo: `${server.url}/repo.git`,
      runId: "run_push_fails",
      baseDir,
      credentials: { username, password },
      logger: silentLogger,
    });
    await writeFile(join(checkout.workspace, "new.txt"), "new\n");
    await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_push_fails",
      branch: "airlock/run_push_fails",
      message: { subject: "Push fails", body: "" },
      trailers: { "Airlock-Run": "run_push_fails" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    for (const remote of [
      `${failing.url}/repo.git`,
      `${failing.url.replace("http://", `http://${username}:${password}@`)}/repo.git`,
    ]) {
      const pushError = await pushBranch({
        hostClone: checkout.hostClone,
        remote,
        branch: "airlock/run_push_fails",
        credentials: { username, password },
        logger: silentLogger,
      }).then(
        () => assert.fail("the push should have failed"),
        (e: unknown) => e,
      );
      assert.ok(pushError instanceof RelayError);
      assert.match(pushError.message, /push/);
      assertNoSecret(pushError.message, "the push error");
      assertNoSecret(String(pushError.stack), "the push error's stack");
    }
    assert.ok(
      failing.authorizations.includes(`Basic ${basic}`),
      "the failing server never saw the credentials",
    );
    await assertCleanClone(checkout.hostClone);
  });

  it("asks the operator's own credential helper, and nothing else", async () => {
    const operatorConfig = join(root, "operator.gitconfig");
    await writeFile(
      operatorConfig,
      `[credential]\n\thelper = "!f() { test \\"$1\\" = get && printf 'username=${username}\\\\npassword=${password}\\\\n'; }; f"\n`,
    );
    const env = {
      PATH: process.env.PATH,
      HOME: root,
      GIT_CONFIG_GLOBAL: operatorConfig,
      GIT_CONFIG_NOSYSTEM: "1",
    };
    const filled = await fillOperatorCredentials({
      remote: `${server.url}/repo.git`,
      logger: silentLogger,
      env,
    });
    assert.deepEqual(filled, { username, password });
    const checkout = await prepareRunCheckout({
      repo: `${server.url}/repo.git`,
      runId: "run_operator",
      baseDir: join(root, "run-operator"),
      credentials: filled,
      logger: silentLogger,
    });
    await assertCleanClone(checkout.hostClone);
    const none = await fillOperatorCredentials({
      remote: `${server.url}/repo.git`,
      logger: silentLogger,
      env: { ...env, GIT_CONFIG_GLOBAL: "/dev/null" },
    });
    assert.equal(none, undefined);
    assert.equal(
      await fillOperatorCredentials({ remote: join(root, "source"), logger: silentLogger, env }),
      undefined,
    );
  });
});
