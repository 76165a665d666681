import assert from "node:assert/strict";
import { generateKeyPairSync, randomInt } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEvent, Run } from "../../core/db/schema.ts";
import { renderRunSummary } from "../../core/summary/render-run-summary.ts";
import { prepareRunCheckout } from "../../runner/relay/prepare-run-checkout.ts";
import { pushBranch } from "../../runner/relay/push-branch.ts";
import { relayWorkspace } from "../../runner/relay/relay-workspace.ts";
import { scanForSecrets } from "../../runner/relay/scan-for-secrets.ts";
import { createBareRemote, createSourceRepo, git, listTree } from "../helpers/git-repo.ts";
import { defaultPolicy, makeTempDir, removeDir, silentLogger } from "./relay-fixture.ts";

/** Random characters from `alphabet`: the secrets exist only while the test runs, never in this repository. */
function random(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}
const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const alnum = `${upper}abcdefghijklmnopqrstuvwxyz0123456789`;

const awsKeyId = `AKIA${random(`${upper}234567`, 16)}`;
// secretlint reads the secret between word boundaries: a random one ending in "/" or "+" would be
// caught by the entropy rule instead, and this test names the rule.
const awsSecret = random(alnum, 40);
const githubToken = `ghp_${random(alnum, 36)}`;
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const ed25519Key = generateKeyPairSync("ed25519")
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const highEntropy = "Zq8vR2xK9mT4pL7wN3sB6yF1hJ5cD0gA";

/** Ordinary files that carry hashes, ids and the words "token" and "secret", and no secret. */
const ordinary: Record<string, string> = {
  "package-lock.json": `${JSON.stringify(
    {
      name: "demo",
      lockfileVersion: 3,
      packages: {
        "node_modules/js-tokens": {
          version: "4.0.0",
          resolved: "https://packages.example/js-tokens/-/js-tokens-4.0.0.tgz",
          integrity:
            "sha512-RdJUflcE3cUzKiMqQgsCu06FPu9UdIJO0beYbPhHN4k6apgJtifcoCtT9bcxOpYBtpD2kCM6Sbzg4CausW/PKQ==",
        },
        "node_modules/secret-handshake": {
          version: "1.1.20",
          integrity: "sha1-aN6WtUJG/G+e0bN6HVRmsR1yE0w=",
        },
      },
    },
    null,
    2,
  )}\n`,
  "docs/ids.md":
    "Request 3f2b9c1e-8d4a-4c6e-9b7f-2a1d5e8c4b3a was fixed in commit 4b11e79c2d3a8f1e0b5c6d7e8f9a0b1c2d3e4f5a.\n" +
    "Set `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` in the workflow; `password_min_length: 12`.\n" +
    "Tokenizers split text into tokens; see docs/tokens.md.\n",
  "src/config.ts": 'export const apiKey = process.env.API_KEY ?? "";\nexport const tokenTtlSeconds = 3600;\n',
};

const secretFiles: Record<string, { content: string; rule: RegExp }> = {
  "deploy/aws.ini": {
    content: `[default]\naws_access_key_id = ${awsKeyId}\naws_secret_access_key = ${awsSecret}\n`,
    rule: /secretlint-rule-aws AWSAccessKeyID at line 2; secretlint-rule-aws AWSSecretAccessKey at line 3/,
  },
  "scripts/release.sh": {
    content: `#!/bin/sh\nexport GH_TOKEN=${githubToken}\ngh release create v1\n`,
    rule: /secretlint-rule-github GITHUB_TOKEN at line 2/,
  },
  "keys/id_rsa": { content: privateKey, rule: /secretlint-rule-privatekey PrivateKey at line 1/ },
  "keys/id_ed25519": { content: ed25519Key, rule: /airlock private-key-block at line 1/ },
  "src/settings.ts": {
    content: `export const port = 8080;\nexport const signingSecret = "${highEntropy}";\n`,
    rule: /airlock high-entropy-assignment at line 2/,
  },
};

const secrets = [
  awsKeyId,
  awsSecret,
  githubToken,
  highEntropy,
  privateKey.split("\n")[1]!,
  ed25519Key.split("\n")[1]!,
];

describe("the secret scan before push", () => {
  let root: string;
  let remote: string;

  before(async () => {
    root = await makeTempDir("secrets");
    const source = await createSourceRepo(join(root, "source"), {
      "README.md": "# Demo\n",
      "src/settings.ts": "export const port = 8080;\n",
    });
    remote = createBareRemote(source, join(root, "remote.git"));
  });
  after(async () => {
    await removeDir(root);
  });

  it("holds back each file with a secret, pushes the rest, and the summary names file and rule but never the secret", async () => {
    const checkout = await prepareRunCheckout({
      repo: remote,
      runId: "run_s1",
      baseDir: join(root, "run"),
      logger: silentLogger,
    });
    const files = {
      ...ordinary,
      ...Object.fromEntries(Object.entries(secretFiles).map(([p, f]) => [p, f.content])),
    };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(checkout.workspace, path)), { recursive: true });
      await writeFile(join(checkout.workspace, path), content);
    }
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_s1",
      branch: "airlock/run_s1",
      message: { subject: "Agent work", body: "Summary." },
      trailers: { "Airlock-Run": "run_s1" },
      policy: defaultPolicy,
      logger: silentLogger,
    });

    assert.deepEqual(
      result.heldBack.map((h) => h.path),
      Object.keys(secretFiles).sort(),
    );
    for (const held of result.heldBack) {
      assert.match(held.reason, secretFiles[held.path]!.rule, held.path);
      assert.match(held.reason, /^(added|modified), but it looks like it holds a secret/);
    }
    assert.deepEqual(
      result.filesChanged.map((f) => f.path),
      Object.keys(ordinary).sort(),
      "no false positive on lockfile hashes, UUIDs, commit ids or the words token and secret",
    );

    await pushBranch({ hostClone: checkout.hostClone, remote, branch: result.branch, logger: silentLogger });
    const pushed = listTree(remote, "airlock/run_s1");
    for (const path of Object.keys(ordinary)) assert.ok(pushed.has(path), path);
    for (const path of ["deploy/aws.ini", "scripts/release.sh", "keys/id_rsa", "keys/id_ed25519"]) {
      assert.ok(!pushed.has(path), `${path} was pushed`);
    }
    // A modified file that is held back keeps its base content.
    assert.equal(pushed.get("src/settings.ts")?.oid, listTree(remote, "main").get("src/settings.ts")?.oid);

    const summary = renderRunSummary({
      run: {
        id: "run_s1",
        state: "succeeded",
        outcomeReason: "the agent finished",
        agent: "builtin",
        repo: "acme/demo",
        model: "m",
        budgetUsd: null,
        budgetTokens: null,
        createdAt: new Date(0),
        finishedAt: new Date(1000),
      } as Run,
      calls: [],
      audit: [
        // The entries as the run writes them (core/audit/audit-event-schemas.ts).
        auditEvent("relay.committed", {
          branch: result.branch,
          commit: result.commit ?? null,
          auditHeadInTrailer: null,
          filesChanged: result.filesChanged,
          heldBack: result.heldBack,
          refused: result.refused,
          refusedOmitted: result.refusedOmitted,
        }),
        auditEvent("relay.pushed", {
          branch: result.branch,
          commit: result.commit,
          remoteRef: `refs/heads/${result.branch}`,
        }),
      ],
    });
    for (const path of Object.keys(secretFiles)) {
      assert.match(summary, new RegExp(`held back: \`${path}\`: .*looks like it holds a secret`));
    }
    assert.match(summary, /secretlint-rule-github GITHUB\\_TOKEN at line 2/);
    for (const secret of secrets) assert.ok(!summary.includes(secret), "the summary quotes a secret");
    for (const held of result.heldBack) {
      for (const secret of secrets) assert.ok(!held.reason.includes(secret), "a reason quotes a secret");
    }
  });

  it("withholds the agent's summary from the commit message when it holds a secret", async () => {
    const checkout = await prepareRunCheckout({
      repo: remote,
      runId: "run_s2",
      baseDir: join(root, "run-2"),
      logger: silentLogger,
    });
    await writeFile(join(checkout.workspace, "README.md"), "# Demo, fixed\n");
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_s2",
      branch: "airlock/run_s2",
      message: { subject: "Agent work", body: `Fixed it.\nI tested with GH_TOKEN=${githubToken}.` },
      trailers: { "Airlock-Run": "run_s2" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    const message = git(checkout.hostClone, ["log", "-1", "--format=%B", result.commit ?? "HEAD"]);
    assert.ok(!message.includes(githubToken), "the commit message holds the secret");
    assert.match(
      message,
      /^Agent work\n\n\[The agent's summary was withheld: it looks like it holds a secret \(secretlint-rule-github GITHUB_TOKEN at line 2\)\.\]\n\nAirlock-Run: run_s2\n/,
    );
  });

  it("finds nothing in ordinary text, and scans without the network", async () => {
    for (const [path, content] of Object.entries(ordinary)) {
      assert.deepEqual(await scanForSecrets(path, Buffer.from(content)), [], path);
    }
    // Placeholders in docs and tests are not secrets.
    assert.deepEqual(
      await scanForSecrets(
        "README.md",
        Buffer.from('AIRLOCK_TOKEN_SECRET="test-token-secret-0123456789abcdef"\n'),
      ),
      [],
    );
  });
});

function auditEvent(type: string, data: Record<string, unknown>): AuditEvent {
  return { id: 1, runId: "run_s1", seq: 1, at: new Date(0), type, data, prevHash: "p", hash: "h", hmac: "m" };
}
