// @unit
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConnectTarget, parseHttpTarget } from "../../runner/egress/parse-egress-target.ts";

describe("parseConnectTarget", () => {
  const accepted: [string, string, number][] = [
    ["example.com:443", "example.com", 443],
    ["Example.COM:443", "example.com", 443],
    ["example.com.:443", "example.com", 443],
    ["a-b.example.co.uk:8443", "a-b.example.co.uk", 8443],
    ["xn--bcher-kva.example:443", "xn--bcher-kva.example", 443],
  ];
  for (const [authority, host, port] of accepted) {
    it(`reads ${authority}`, () => {
      assert.deepEqual(parseConnectTarget(authority), { ok: true, target: { host, port } });
    });
  }

  const refused: [string, 400 | 403, RegExp][] = [
    ["127.0.0.1:443", 403, /is an IP address/],
    ["[::1]:443", 403, /is an IP address/],
    ["[::ffff:127.0.0.1]:443", 403, /is an IP address/],
    ["2130706433:443", 403, /is an IP address/],
    ["0x7f000001:443", 403, /is an IP address/],
    ["0x7f.1:443", 403, /is an IP address/],
    ["127.1:443", 403, /is an IP address/],
    ["example.123:443", 400, /not a DNS name/],
    ["localhost:443", 403, /local name/],
    ["user@example.com:443", 400, /no userinfo/],
    ["user:pw@example.com:443", 400, /no userinfo/],
    ["example.com:443/path", 400, /host:port only/],
    ["example.com%2f:443", 400, /host:port only/],
    ["example.com", 400, /needs host:port/],
    ["example.com:", 400, /is not a port/],
    ["example.com:0", 400, /is not a port/],
    ["example.com:65536", 400, /is not a port/],
    ["example.com:+443", 400, /is not a port/],
    ["example.com:443 ", 400, /host:port only/],
    ["exa_mple.com:443", 400, /not a DNS name/],
    ["-example.com:443", 400, /not a DNS name/],
    ["example-.com:443", 400, /not a DNS name/],
    ["example..com:443", 400, /not a DNS name/],
    [`${"a".repeat(64)}.com:443`, 400, /not a DNS name/],
    [`${"a.".repeat(130)}com:443`, 400, /not a DNS name/],
    [`${"a".repeat(400)}:443`, 400, /longer than any DNS name/],
    ["exam\u0000ple.com:443", 400, /not a DNS name/],
    ["", 400, /needs host:port/],
  ];
  for (const [authority, status, reason] of refused) {
    it(`refuses ${JSON.stringify(authority.slice(0, 40))} with ${status}`, () => {
      const parsed = parseConnectTarget(authority);
      assert.equal(parsed.ok, false);
      assert.equal(!parsed.ok && parsed.status, status);
      assert.match(!parsed.ok ? parsed.reason : "", reason);
    });
  }
});

describe("parseHttpTarget", () => {
  it("reads an absolute-form URL with its path and query, port 80 by default", () => {
    assert.deepEqual(parseHttpTarget("http://Example.com/a/b?c=d", "example.com"), {
      ok: true,
      target: { host: "example.com", port: 80 },
      path: "/a/b?c=d",
    });
    assert.deepEqual(parseHttpTarget("http://example.com:8080", undefined), {
      ok: true,
      target: { host: "example.com", port: 8080 },
      path: "/",
    });
  });

  const refused: [string, string | undefined, RegExp][] = [
    ["/path", "example.com", /absolute-form/],
    ["https://example.com/", "example.com", /CONNECT/],
    ["ftp://example.com/", undefined, /absolute-form/],
    ["http://user:pw@example.com/", "example.com", /userinfo/],
    ["http://user@example.com/", "example.com", /userinfo/],
    ["http://example.com/", "other.com", /Host header/],
    ["http://example.com/", "example.com:8080", /Host header/],
    ["http://example.com:8080/", "example.com", /Host header/],
    ["http://127.0.0.1/", "127.0.0.1", /IP address/],
    ["http://[::1]/", "[::1]", /IP address/],
    ["http://0x7f.1/", undefined, /IP address/],
    ["http://2130706433/", undefined, /IP address/],
    ["http://exa%6dple.com/", undefined, /not a host/],
    ["http://example.com\\@evil.com/", undefined, /userinfo|not a host/],
    [`http://example.com/${"a".repeat(9000)}`, undefined, /too long/],
  ];
  for (const [target, host, reason] of refused) {
    it(`refuses ${target.slice(0, 50)} (Host: ${host ?? "none"})`, () => {
      const parsed = parseHttpTarget(target, host);
      assert.equal(parsed.ok, false);
      assert.match(!parsed.ok ? parsed.reason : "", reason);
    });
  }
});
