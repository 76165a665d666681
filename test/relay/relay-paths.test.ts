import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkRelayPath } from "../../runner/relay/check-relay-path.ts";
import { formatCommitMessage } from "../../runner/relay/format-commit-message.ts";
import { isProtectedPath } from "../../runner/relay/is-protected-path.ts";
import { parseGitRemote } from "../../runner/relay/parse-git-remote.ts";
import { redactCredentials } from "../../runner/relay/redact-credentials.ts";
import { RelayError } from "../../runner/relay/relay-error.ts";

describe("checkRelayPath", () => {
  it("accepts ordinary paths", () => {
    for (const path of [
      "README.md",
      "src/a b/c.ts",
      ".github/workflows/ci.yml",
      ".gitignore",
      "a/.gitkeep",
      "é/ü.txt",
    ]) {
      assert.equal(checkRelayPath(path), undefined, path);
    }
  });

  it("refuses escapes, .git in any spelling and names git cannot store safely", () => {
    const cases: [string, RegExp][] = [
      ["../../x", /"\.\." component/],
      ["a/../../x", /"\.\." component/],
      ["./x", /"\." component/],
      ["/etc/passwd", /absolute/],
      ["a//b", /empty path component/],
      ["a/", /empty path component/],
      ["", /empty path/],
      [".git/config", /\.git/],
      ["sub/.git/hooks/pre-commit", /\.git/],
      [".GIT/config", /\.git/],
      [".git./config", /\.git/],
      [".git /config", /\.git/],
      ["GIT~1/config", /\.git/],
      [".git::$INDEX_ALLOCATION/config", /\.git/],
      [".g\u200cit/config", /\.git/],
      ["..\\..\\x", /backslash/],
      ["a\nb", /control/],
      ["a\u0000b", /control/],
      [`${"x".repeat(256)}`, /255 bytes/],
      [`${"dir/".repeat(1100)}x`, /4096 bytes/],
    ];
    for (const [path, reason] of cases)
      assert.match(checkRelayPath(path) ?? "accepted", reason, JSON.stringify(path));
  });
});

describe("isProtectedPath", () => {
  it("covers workflows, local actions, submodules, Airlock's config and their parents, in any case", () => {
    for (const path of [
      ".github/workflows/ci.yml",
      ".github/workflows",
      ".github/actions/setup/action.yml",
      ".github/Actions/setup/run.sh",
      ".github/actions",
      ".gitmodules",
      ".GitModules",
      ".GitHub/Workflows/x.yml",
      ".github/airlock.yml",
      ".github/airlock.yaml",
      ".github/airlock/capabilities.yml",
      ".github",
    ]) {
      assert.equal(isProtectedPath(path), true, path);
    }
    for (const path of [
      ".github/CODEOWNERS",
      "workflows/ci.yml",
      ".github/airlock.yml.bak",
      "src/.github/workflows/x",
      "src/.gitmodules",
      ".gitmodules.bak",
      ".github/actions-notes.md",
    ]) {
      assert.equal(isProtectedPath(path), false, path);
    }
  });
});

describe("formatCommitMessage", () => {
  it("joins subject, body and trailers with blank lines", () => {
    assert.equal(
      formatCommitMessage(
        { subject: "Fix\nthe bug", body: "Line one\r\nLine two\u0007\n" },
        { "Airlock-Run": "run_1", "Airlock-Audit": "abc" },
      ),
      "Fix the bug\n\nLine one\nLine two\n\nAirlock-Run: run_1\nAirlock-Audit: abc\n",
    );
    assert.equal(
      formatCommitMessage({ subject: "Only", body: "  " }, { "Airlock-Run": "r" }),
      "Only\n\nAirlock-Run: r\n",
    );
  });

  it("refuses trailers that could forge or break the block", () => {
    assert.throws(() => formatCommitMessage({ subject: "s", body: "" }, { "Airlock Run": "x" }), RelayError);
    assert.throws(
      () => formatCommitMessage({ subject: "s", body: "" }, { "Airlock-Run": "x\nAirlock-Audit: y" }),
      RelayError,
    );
    assert.throws(() => formatCommitMessage({ subject: " ", body: "" }, {}), RelayError);
  });

  it("neutralises the agent's @mentions so the commit shown on the pull request pings nobody", () => {
    const message = formatCommitMessage(
      { subject: "Fix for @octocat", body: "Thanks @octocat and @acme/security-team; mail a@example.com." },
      { "Airlock-Run": "r" },
    );
    assert.doesNotMatch(message, /@[A-Za-z0-9]/);
    assert.equal(
      message,
      "Fix for @\u200doctocat\n\nThanks @\u200doctocat and @\u200dacme/security-team; mail a@\u200dexample.com.\n\nAirlock-Run: r\n",
    );
  });

  it("cuts a huge summary", () => {
    const message = formatCommitMessage({ subject: "s", body: "y".repeat(200_000) }, { "Airlock-Run": "r" });
    assert.ok(message.length < 70_000);
    assert.match(message, /\[summary cut at 64 KiB\]\n\nAirlock-Run: r\n$/);
  });
});

describe("parseGitRemote", () => {
  it("reads paths, URLs and scp-like addresses", () => {
    assert.deepEqual(parseGitRemote("/srv/repo"), {
      location: "/srv/repo",
      kind: "path",
      httpOrigin: undefined,
      embeddedCredentials: undefined,
    });
    assert.equal(parseGitRemote("https://example.com/o/r.git").httpOrigin, "https://example.com/");
    assert.equal(parseGitRemote("git@example.com:o/r.git").kind, "url");
    const embedded = parseGitRemote("https://x-access-token:tok%40en@example.com:8443/o/r.git");
    assert.equal(embedded.location, "https://example.com:8443/o/r.git");
    assert.equal(embedded.httpOrigin, "https://example.com:8443/");
    assert.deepEqual(embedded.embeddedCredentials, { username: "x-access-token", password: "tok@en" });
  });

  it("refuses transports that run commands and option-like names", () => {
    for (const repo of ["ext::sh -c touch% /tmp/x", "fd::3", "-uhello", "ftp://example.com/r.git", ""]) {
      assert.throws(() => parseGitRemote(repo), RelayError, repo);
    }
  });
});

describe("redactCredentials", () => {
  it("removes the password, its Basic header and URL user info", () => {
    const credentials = { username: "u", password: "p@ss word" };
    const basic = Buffer.from("u:p@ss word").toString("base64");
    const text = `fatal: https://u:secret@host/x; p@ss word; p%40ss%20word; Authorization: Basic ${basic}`;
    const out = redactCredentials(text, credentials);
    assert.equal(out, "fatal: https://***@host/x; ***; ***; Authorization: Basic ***");
  });
});
