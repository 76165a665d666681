import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCapability } from "../../core/capabilities/format-capability.ts";
import { validateCapabilityRequest } from "../../core/capabilities/validate-capability-request.ts";

type Accepted = [body: Record<string, unknown>, expected: { name: string; version?: string }];
type Refused = [body: Record<string, unknown>, field: string, reason: RegExp];

const reason = "the tests need it";

function checkTables(kind: string, accepted: Accepted[], refused: Refused[]) {
  describe(kind, () => {
    for (const [body, expected] of accepted) {
      it(`accepts ${JSON.stringify(body)}`, () => {
        const result = validateCapabilityRequest({ kind, reason, ...body });
        assert.ok(result.ok, result.ok ? "" : `${result.field}: ${result.reason}`);
        assert.equal(result.request.kind, kind);
        assert.equal(result.request.name, expected.name);
        assert.equal(result.request.version, expected.version);
      });
    }
    for (const [body, field, why] of refused) {
      it(`refuses ${JSON.stringify(body)} (${field})`, () => {
        const result = validateCapabilityRequest({ kind, reason, ...body });
        assert.equal(result.ok, false, `accepted ${JSON.stringify(body)}`);
        if (result.ok) return;
        assert.equal(result.field, field);
        assert.match(result.reason, why);
      });
    }
  });
}

checkTables(
  "apt",
  [
    [{ name: "jq" }, { name: "jq" }],
    [{ name: "libstdc++6" }, { name: "libstdc++6" }],
    [{ name: "g++" }, { name: "g++" }],
    [{ name: "python3.11-venv" }, { name: "python3.11-venv" }],
    [{ name: "0ad" }, { name: "0ad" }],
  ],
  [
    [{ name: "jq", version: "1.6" }, "version", /take no version.*Debian release/],
    [{ name: "j" }, "name", /2 to 128 characters/],
    [{ name: "" }, "name", /2 to 128/],
    [{ name: "a".repeat(129) }, "name", /2 to 128/],
    [{ name: "JQ" }, "name", /lowercase/],
    [{ name: "jq:i386" }, "name", /architecture or release qualifier/],
    [{ name: "jq=1.6-2" }, "name", /version \(=\) or release/],
    [{ name: "jq/bookworm-backports" }, "name", /release \(\/\)/],
    [{ name: "-jq" }, "name", /not a Debian package name/],
    [{ name: ".jq" }, "name", /not a Debian package name/],
    [{ name: "jq-" }, "name", /removal/],
    [{ name: "jq curl" }, "name", /not a Debian package name/],
    [{ name: "jq;rm -rf ~" }, "name", /not a Debian package name/],
    [{ name: "lib*" }, "name", /not a Debian package name/],
    [{ name: "jq_tool" }, "name", /not a Debian package name/],
    [{ name: "jq\n" }, "name", /not a Debian package name/],
    [{ name: "../../etc/passwd" }, "name", /release \(\/\)/],
  ],
);

checkTables(
  "npm",
  [
    [{ name: "is-number" }, { name: "is-number" }],
    [
      { name: "left-pad", version: "1.3.0" },
      { name: "left-pad", version: "1.3.0" },
    ],
    [
      { name: "@scope/pkg", version: "1.2.3-beta.1+build.5" },
      { name: "@scope/pkg", version: "1.2.3-beta.1+build.5" },
    ],
    [
      { name: "lodash.merge", version: "^4.6" },
      { name: "lodash.merge", version: "^4.6" },
    ],
    [
      { name: "a", version: "~1.2.3" },
      { name: "a", version: "~1.2.3" },
    ],
    [
      { name: "a", version: ">=1.2.0 <2" },
      { name: "a", version: ">=1.2.0 <2" },
    ],
    [
      { name: "a", version: "1.x" },
      { name: "a", version: "1.x" },
    ],
    [
      { name: "a", version: "1.2.3 - 1.4.0" },
      { name: "a", version: "1.2.3 - 1.4.0" },
    ],
    [{ name: "buffer" }, { name: "buffer" }],
    [{ name: "under_score-9" }, { name: "under_score-9" }],
  ],
  [
    [{ name: "" }, "name", /empty/],
    [{ name: "a".repeat(215) }, "name", /at most 214/],
    [{ name: " left-pad" }, "name", /leading or trailing spaces/],
    [{ name: "https://evil.example/x.tgz" }, "name", /URL, git, file or alias/],
    [{ name: "git+ssh://git@github.com/a/b.git" }, "name", /URL, git, file or alias/],
    [{ name: "file:../x" }, "name", /URL, git, file or alias/],
    [{ name: "npm:left-pad" }, "name", /alias \(npm:\)/],
    [{ name: "github:user/repo" }, "name", /URL, git, file or alias/],
    [{ name: "user/repo" }, "name", /GitHub shorthand/],
    [{ name: "../local-dir" }, "name", /GitHub shorthand|start with \./],
    [{ name: "repo#main" }, "name", /git ref/],
    [{ name: "left-pad@1.3.0" }, "name", /version field/],
    [{ name: "@scope" }, "name", /@scope\/name/],
    [{ name: "@/pkg" }, "name", /both parts non-empty/],
    [{ name: "@scope/" }, "name", /both parts non-empty/],
    [{ name: ".hidden" }, "name", /cannot start with \. or _/],
    [{ name: "_private" }, "name", /cannot start with \. or _/],
    [{ name: "-g" }, "name", /read it as an option/],
    [{ name: "@scope/-g" }, "name", /read it as an option/],
    [{ name: "JSONStream" }, "name", /lowercase/],
    [{ name: "crazy!" }, "name", /~ ' ! \( \) \*/],
    [{ name: "node_modules" }, "name", /not a valid npm package name/],
    [{ name: "favicon.ico" }, "name", /not a valid npm package name/],
    [{ name: "a b" }, "name", /lowercase letters, digits/],
    [{ name: "ünicode" }, "name", /lowercase letters, digits/],
    [{ name: "a", version: "latest" }, "version", /dist-tag, which moves/],
    [{ name: "a", version: "next" }, "version", /dist-tag/],
    [{ name: "a", version: "" }, "version", /empty/],
    [{ name: "a", version: "npm:left-pad@1" }, "version", /alias \(npm:\)/],
    [{ name: "a", version: "github:user/repo" }, "version", /URL, git, file or alias/],
    [{ name: "a", version: "https://x.example/a.tgz" }, "version", /URL/],
    [{ name: "a", version: "file:../a" }, "version", /file/],
    [{ name: "a", version: "^1 || ^2" }, "version", /no \|\|/],
    [{ name: "a", version: "01.2.3" }, "version", /not an exact version/],
    [{ name: "a", version: "1.2.3.4" }, "version", /not an exact version/],
    [{ name: "a", version: ">=1 <2 <3" }, "version", /not an exact version/],
    [{ name: "a", version: "1".repeat(65) }, "version", /at most 64/],
    [{ name: "a", version: "1.2.3; rm -rf ~" }, "version", /not an exact version/],
  ],
);

checkTables(
  "pip",
  [
    [{ name: "requests" }, { name: "requests" }],
    [
      { name: "requests", version: "2.32.3" },
      { name: "requests", version: "2.32.3" },
    ],
    [
      { name: "requests", version: "==2.32.3" },
      { name: "requests", version: "2.32.3" },
    ],
    [{ name: "Foo_Bar.baz" }, { name: "foo-bar-baz" }],
    [
      { name: "zope.interface", version: "1!2.0rc1.post3.dev4" },
      { name: "zope-interface", version: "1!2.0rc1.post3.dev4" },
    ],
    [{ name: "a__-.b" }, { name: "a-b" }],
    [{ name: "x" }, { name: "x" }],
  ],
  [
    [{ name: "" }, "name", /empty/],
    [{ name: "a".repeat(129) }, "name", /at most 128/],
    [{ name: "pkg @ https://evil.example/pkg.whl" }, "name", /URL or direct reference/],
    [{ name: "https://evil.example/pkg.whl" }, "name", /URL/],
    [{ name: "requests[security]" }, "name", /extras/],
    [{ name: "requests[socks] @ https://x.example/a" }, "name", /URL or direct reference/],
    [{ name: 'requests; python_version < "3.8"' }, "name", /markers/],
    [{ name: "requests==2.0" }, "name", /version field/],
    [{ name: "requests>=2" }, "name", /version field/],
    [{ name: "-requests" }, "name", /PEP 508/],
    [{ name: "requests-" }, "name", /PEP 508/],
    [{ name: "req uests" }, "name", /PEP 508/],
    [{ name: "../x" }, "name", /PEP 508/],
    [{ name: "requests", version: ">=2.0" }, "version", /exact pin/],
    [{ name: "requests", version: "~=2.0" }, "version", /exact pin/],
    [{ name: "requests", version: "!=2.0" }, "version", /exact pin/],
    [{ name: "requests", version: "===2.0" }, "version", /exact pin/],
    [{ name: "requests", version: "==2.0,<3" }, "version", /exact pin/],
    [{ name: "requests", version: "==2.*" }, "version", /wildcard/],
    [{ name: "requests", version: "2.0+local" }, "version", /local version/],
    [{ name: "requests", version: "v2.0" }, "version", /PEP 440/],
    [{ name: "requests", version: "latest" }, "version", /PEP 440/],
    [{ name: "requests", version: "2.0 ; os_name=='nt'" }, "version", /PEP 440|exact/],
  ],
);

checkTables(
  "network",
  [
    [{ name: "API.GitHub.com" }, { name: "api.github.com" }],
    [{ name: "xn--bcher-kva.example.org" }, { name: "xn--bcher-kva.example.org" }],
    [{ name: "a-b.c0.io" }, { name: "a-b.c0.io" }],
    [{ name: "1.2.3.example.com" }, { name: "1.2.3.example.com" }],
  ],
  [
    [{ name: "" }, "name", /empty/],
    [{ name: "127.0.0.1" }, "name", /IP address/],
    [{ name: "10.0.0.1" }, "name", /IP address/],
    [{ name: "169.254.169.254" }, "name", /IP address/],
    [{ name: "2130706433" }, "name", /IP address/],
    [{ name: "0x7f000001" }, "name", /IP address/],
    [{ name: "0x7f.0.0.1" }, "name", /IP address/],
    [{ name: "0177.0.0.1" }, "name", /IP address/],
    [{ name: "127.1" }, "name", /IP address/],
    [{ name: "1.2.3.4.5" }, "name", /numeric is an IP address/],
    [{ name: "::1" }, "name", /IP address/],
    [{ name: "[::1]" }, "name", /IP address/],
    [{ name: "[fe80::1%eth0]" }, "name", /IP address/],
    [{ name: "::ffff:127.0.0.1" }, "name", /IP address/],
    [{ name: "*.example.com" }, "name", /wildcards/],
    [{ name: "example.com:443" }, "name", /no scheme, port/],
    [{ name: "https://example.com" }, "name", /no scheme/],
    [{ name: "user@example.com" }, "name", /user part/],
    [{ name: "example.com/path" }, "name", /path/],
    [{ name: "example.com." }, "name", /trailing dot/],
    [{ name: "localhost." }, "name", /trailing dot/],
    [{ name: "localhost" }, "name", /single-label|localhost/],
    [{ name: "foo.localhost" }, "name", /\.localhost names are local/],
    [{ name: "printer.local" }, "name", /\.local names/],
    [{ name: "metadata.google.internal" }, "name", /\.internal names/],
    [{ name: "router.home.arpa" }, "name", /home\.arpa/],
    [{ name: "1.0.0.127.in-addr.arpa" }, "name", /\.arpa/],
    [{ name: "metadata" }, "name", /single-label/],
    [{ name: "intranet-host" }, "name", /single-label/],
    [{ name: "localhost.evil.com" }, "name", /localhost names are refused/],
    [{ name: "127.0.0.1.nip.io" }, "name", /nip\.io is refused/],
    [{ name: "anything.sslip.io" }, "name", /sslip\.io/],
    [{ name: "metadata.tencentyun.com" }, "name", /metadata/],
    [{ name: ".example.com" }, "name", /leading dot/],
    [{ name: "a..com" }, "name", /two dots/],
    [{ name: "-a.com" }, "name", /start or end with -/],
    [{ name: "a-.com" }, "name", /start or end with -/],
    [{ name: `${"a".repeat(64)}.com` }, "name", /label is at most 63/],
    [{ name: `${"a.".repeat(126)}com` }, "name", /at most 253/],
    [{ name: "under_score.com" }, "name", /letters, digits, - and \. only/],
    [{ name: "bücher.de" }, "name", /punycode/],
    [{ name: "exa mple.com" }, "name", /space/],
    [{ name: "xn--a.com" }, "name", /bad punycode/],
    [{ name: "example.com", version: "1" }, "version", /no version/],
  ],
);

checkTables(
  "llm-tool",
  [
    [{ name: "web_search" }, { name: "web_search" }],
    [{ name: "mcp" }, { name: "mcp" }],
    [{ name: "files" }, { name: "files" }],
    [{ name: "code_execution" }, { name: "code_execution" }],
  ],
  [
    [{ name: "web_search_20250305" }, "name", /not a hosted tool.*web_search/],
    [{ name: "WEB_SEARCH" }, "name", /not a hosted tool/],
    [{ name: "function" }, "name", /not a hosted tool/],
    [{ name: "__proto__" }, "name", /not a hosted tool/],
    [{ name: "toString" }, "name", /not a hosted tool/],
    [{ name: "web_search", version: "1" }, "version", /no version/],
  ],
);

describe("the request body and reason", () => {
  const refusedBodies: [unknown, string, RegExp][] = [
    [null, "body", /the request is \{kind, name, version\?, reason\}/],
    ["apt:jq", "body", /the request is/],
    [[], "body", /the request is/],
    [{ kind: "docker", name: "x", reason }, "kind", /kind must be one of apt, npm, pip, network, llm-tool/],
    [{ name: "jq", reason }, "kind", /kind must be one of/],
    [{ kind: "apt", reason }, "name", /name: /],
    [{ kind: "apt", name: 5, reason }, "name", /all strings/],
    [{ kind: "apt", name: "jq" }, "reason", /reason/],
    [{ kind: "apt", name: "jq", reason: "" }, "reason", /say why/],
    [{ kind: "apt", name: "jq", reason: " \n\t\u0000 \u202e " }, "reason", /say why/],
    [{ kind: "apt", name: "jq", reason: "x".repeat(1001) }, "reason", /at most 1000/],
    [{ kind: "apt", name: "jq", reason: "x".repeat(10_001) }, "reason", /reason/],
    [{ kind: "apt", name: "jq", reason, extra: 1 }, "body", /unknown field\(s\) extra/],
    [{ kind: "apt", name: "jq", reason, version: 1 }, "version", /all strings/],
    [{ kind: "apt", name: "x".repeat(301), reason }, "name", /name/],
  ];
  for (const [body, field, why] of refusedBodies) {
    it(`refuses ${JSON.stringify(body)?.slice(0, 60)} (${field})`, () => {
      const result = validateCapabilityRequest(body);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.field, field);
      assert.match(result.reason, why);
    });
  }

  it("cleans control, bidi and zero-width characters out of the reason and keeps one line", () => {
    const result = validateCapabilityRequest({
      kind: "apt",
      name: "jq",
      reason: "  parse\r\nJSON\u0007 output \u202eevil\u202c\u200b in\u0085 tests  ",
    });
    assert.ok(result.ok);
    assert.equal(result.request.reason, "parse JSON output evil in tests");
  });

  it("formats specs the way DESIGN §6 writes them", () => {
    assert.equal(formatCapability({ kind: "npm", name: "@a/b", version: "1.2.3" }), "npm:@a/b@1.2.3");
    assert.equal(formatCapability({ kind: "pip", name: "requests", version: "2.0" }), "pip:requests==2.0");
    assert.equal(formatCapability({ kind: "apt", name: "jq" }), "apt:jq");
  });
});
