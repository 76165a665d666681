import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { CapabilityFactsError } from "../../runner/capabilities/capability-facts-error.ts";
import { createHostFactSources } from "../../runner/capabilities/create-host-fact-sources.ts";
import { gatherCapabilityFacts } from "../../runner/capabilities/gather-capability-facts.ts";
import { parseAptFacts } from "../../runner/capabilities/parse-apt-facts.ts";
import { parseNpmView } from "../../runner/capabilities/parse-npm-view.ts";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";

const fixture = (name: string) => new URL(`../fixtures/capability-facts/${name}`, import.meta.url);
const readJson = (name: string): unknown => JSON.parse(readFileSync(fixture(name), "utf8"));

function isFactsError(reason: CapabilityFactsError["reason"], message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof CapabilityFactsError, String(error));
    assert.equal(error.reason, reason);
    assert.match(error.message, message);
    return true;
  };
}

describe("npm facts", () => {
  it("reads a recorded `npm view --json` answer", () => {
    assert.deepEqual(parseNpmView(readJson("npm-view-is-number-7.0.0.json")), {
      kind: "npm",
      name: "is-number",
      version: "7.0.0",
      license: "MIT",
      unpackedSize: null,
      directDependencies: 0,
      dependencyNames: [],
      installScripts: [],
      integrity:
        "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
    });
  });

  it("reports install scripts and counts optional dependencies as direct ones", () => {
    const facts = parseNpmView(readJson("npm-view-esbuild-0.20.0.json"));
    assert.deepEqual(facts.installScripts, ["postinstall"]);
    assert.equal(facts.directDependencies, 23);
    assert.ok(facts.dependencyNames.includes("@esbuild/linux-x64"));
  });

  it("takes the highest version when a range answers with several", () => {
    const facts = parseNpmView(readJson("npm-view-chalk-range-4.json"));
    assert.equal(facts.version, "4.1.2");
    assert.deepEqual(facts.dependencyNames, ["ansi-styles", "supports-color"]);
    const withPrerelease = parseNpmView([
      { name: "x", version: "2.0.0-rc.1" },
      { name: "x", version: "1.9.10" },
      { name: "x", version: "1.10.0" },
    ]);
    assert.equal(withPrerelease.version, "2.0.0-rc.1");
    assert.equal(
      parseNpmView([
        { name: "x", version: "1.0.0-rc.2" },
        { name: "x", version: "1.0.0" },
      ]).version,
      "1.0.0",
    );
  });

  it("marks a gypfile package as having an install script, and reads an object licence", () => {
    const facts = parseNpmView({ name: "x", version: "1.0.0", gypfile: true, license: { type: "ISC" } });
    assert.deepEqual(facts.installScripts, ["install (node-gyp rebuild)"]);
    assert.equal(facts.license, "ISC");
  });

  it("refuses an answer of the wrong shape", () => {
    assert.throws(
      () => parseNpmView({ name: "x", version: "latest" }),
      isFactsError("malformed", /exact semver/),
    );
    assert.throws(() => parseNpmView([]), isFactsError("not_found", /no version/));
  });

  const npmReachable = (() => {
    try {
      execFileSync("npm", ["--version"], { stdio: "ignore" });
      return undefined;
    } catch {
      return "npm is not on PATH";
    }
  })();

  it("asks the registry through the host's npm, resolving a range", { skip: npmReachable }, async () => {
    const sources = createHostFactSources({ baseImage: "unused", timeoutMs: 60_000 });
    const facts = await gatherCapabilityFacts(sources, { kind: "npm", name: "is-number", version: "^7" });
    assert.equal(facts.kind, "npm");
    assert.equal(facts.version, "7.0.0");
    if (facts.kind === "npm") {
      assert.equal(facts.license, "MIT");
      assert.deepEqual(facts.installScripts, []);
    }
    await assert.rejects(
      gatherCapabilityFacts(sources, { kind: "npm", name: "is-number", version: "99.0.0" }),
      isFactsError("not_found", /no published version matches is-number@99\.0\.0/),
    );
  });
});

describe("apt facts", () => {
  it("reads a recorded apt-cache show and apt-get -s output", () => {
    const [show = "", simulate = ""] = readFileSync(fixture("apt-jq-bookworm.txt"), "utf8").split(
      "@@airlock-apt-simulate@@",
    );
    assert.deepEqual(parseAptFacts("jq", { show, simulate, source: "recorded" }), {
      kind: "apt",
      name: "jq",
      version: "1.6-2.1+deb12u2",
      installedSize: 111 * 1024,
      pullsIn: ["libjq1", "libonig5"],
      source: "recorded",
    });
    assert.throws(
      () => parseAptFacts("curl", { show, simulate, source: "recorded" }),
      isFactsError("not_found", /curl is not in the base image's Debian sources/),
    );
  });

  const image = baseImageRef();
  const dockerSkip = (() => {
    try {
      execFileSync("docker", ["image", "inspect", image], { stdio: "ignore" });
      return undefined;
    } catch {
      return `docker or ${image} is not available`;
    }
  })();

  it(
    "asks the base image's own apt in a container with network",
    { skip: dockerSkip, timeout: 180_000 },
    async () => {
      const sources = createHostFactSources({ baseImage: image, timeoutMs: 150_000 });
      const started = performance.now();
      const facts = await gatherCapabilityFacts(sources, { kind: "apt", name: "jq" });
      const ms = Math.round(performance.now() - started);
      assert.equal(facts.kind, "apt");
      if (facts.kind !== "apt") return;
      assert.match(facts.version, /^1\.6-/);
      assert.ok(facts.pullsIn.includes("libjq1"), JSON.stringify(facts));
      assert.ok((facts.installedSize ?? 0) > 50 * 1024);
      assert.match(facts.source, /apt in a container of airlock\/base:/);
      process.stdout.write(`# apt facts for jq in ${ms} ms\n`);
      await assert.rejects(
        gatherCapabilityFacts(sources, { kind: "apt", name: "no-such-package-airlock" }),
        isFactsError("not_found", /not in the base image's Debian sources/),
      );
    },
  );
});

describe("network facts", () => {
  it("resolve with the injected resolver, sorted and without repeats, with the Unicode form of punycode", async () => {
    const asked: string[] = [];
    const sources = createHostFactSources({
      baseImage: "unused",
      lookupAll: async (domain) => {
        asked.push(domain);
        if (domain === "gone.example.com") throw Object.assign(new Error("nx"), { code: "ENOTFOUND" });
        return ["203.0.113.7", "2001:db8::1", "198.51.100.2", "203.0.113.7"];
      },
    });
    assert.deepEqual(
      await gatherCapabilityFacts(sources, { kind: "network", name: "xn--bcher-kva.example.org" }),
      {
        kind: "network",
        domain: "xn--bcher-kva.example.org",
        unicode: "bücher.example.org",
        addresses: ["198.51.100.2", "2001:db8::1", "203.0.113.7"],
      },
    );
    const plain = await gatherCapabilityFacts(sources, { kind: "network", name: "api.github.com" });
    assert.equal(plain.kind === "network" && plain.unicode, null);
    await assert.rejects(
      gatherCapabilityFacts(sources, { kind: "network", name: "gone.example.com" }),
      isFactsError("not_found", /does not resolve on the host \(ENOTFOUND\)/),
    );
    assert.deepEqual(asked, ["xn--bcher-kva.example.org", "api.github.com", "gone.example.com"]);
  });
});

describe("llm-tool facts", () => {
  it("say what the tool reaches and costs, from the grants table", async () => {
    const sources = createHostFactSources({ baseImage: "unused" });
    const facts = await gatherCapabilityFacts(sources, { kind: "llm-tool", name: "web_search" });
    assert.equal(facts.kind, "llm-tool");
    assert.match(facts.kind === "llm-tool" ? facts.reaches : "", /searches the public web/);
    assert.match(facts.kind === "llm-tool" ? facts.costs : "", /per-search fee/);
  });
});

// The package index cannot be reached from this machine: a PyPI-shaped stand-in on
// loopback, strict about the paths it serves.
describe("pip facts against a loopback index", () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  const seen: string[] = [];
  const unexpected: string[] = [];
  const project = {
    info: {
      name: "Requests",
      version: "2.32.3",
      license: "Apache-2.0\nfull text follows",
      license_expression: null,
      summary: "Python HTTP for Humans.",
      requires_dist: [
        "charset-normalizer<4,>=2",
        "idna<4,>=2.5",
        "urllib3<3,>=1.21.1",
        "certifi>=2017.4.17",
        'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
      ],
      yanked: false,
    },
    urls: [
      { packagetype: "bdist_wheel", filename: "requests-2.32.3-py3-none-any.whl", yanked: false },
      { packagetype: "sdist", filename: "requests-2.32.3.tar.gz", yanked: false },
    ],
  };

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(`${req.method} ${req.url}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "GET") return (unexpected.push(req.url ?? ""), send(405, {}));
      if (req.url === "/pypi/requests/2.32.3/json") return send(200, project);
      if (req.url === "/pypi/requests/json") return send(200, project);
      // An index that answers for another project than the one asked.
      if (req.url === "/pypi/requests-oauthlib/2.32.3/json") return send(200, project);
      if (req.url === "/pypi/sdist-only/1.0/json")
        return send(200, {
          info: { name: "sdist_only", version: "1.0", license_expression: "MIT" },
          urls: [{ packagetype: "sdist" }],
        });
      if (req.url === "/pypi/requests/9.9.9/json" || req.url === "/pypi/nope/json")
        return send(404, { message: "Not Found" });
      unexpected.push(req.url ?? "");
      return send(500, {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.deepEqual(unexpected, [], "the index saw requests nobody expected");
  });

  it("reads version, licence and wheels from the index's JSON API beside AIRLOCK_PIP_INDEX_URL", async () => {
    const sources = createHostFactSources({ baseImage: "unused", pipIndexUrl: `${url}/simple/` });
    assert.deepEqual(
      await gatherCapabilityFacts(sources, { kind: "pip", name: "requests", version: "2.32.3" }),
      {
        kind: "pip",
        name: "requests",
        version: "2.32.3",
        license: "Apache-2.0",
        summary: "Python HTTP for Humans.",
        requiresDist: 5,
        sourceOnly: false,
        yanked: false,
      },
    );
    const latest = await gatherCapabilityFacts(sources, { kind: "pip", name: "requests" });
    assert.equal(latest.kind === "pip" && latest.version, "2.32.3");
    const sdist = await gatherCapabilityFacts(sources, { kind: "pip", name: "sdist-only", version: "1.0" });
    assert.deepEqual(sdist.kind === "pip" && [sdist.sourceOnly, sdist.license], [true, "MIT"]);
    await assert.rejects(
      gatherCapabilityFacts(sources, { kind: "pip", name: "requests", version: "9.9.9" }),
      isFactsError("not_found", /requests==9\.9\.9 is not on the package index/),
    );
    await assert.rejects(
      gatherCapabilityFacts(sources, { kind: "pip", name: "nope" }),
      isFactsError("not_found", /nope/),
    );
    assert.deepEqual(seen, [
      "GET /pypi/requests/2.32.3/json",
      "GET /pypi/requests/json",
      "GET /pypi/sdist-only/1.0/json",
      "GET /pypi/requests/9.9.9/json",
      "GET /pypi/nope/json",
    ]);
  });

  it("refuses an index answer for another project or version, and says when no index is configured", async () => {
    const sources = createHostFactSources({ baseImage: "unused", pipIndexUrl: url });
    await assert.rejects(
      gatherCapabilityFacts(sources, { kind: "pip", name: "requests-oauthlib", version: "2.32.3" }),
      isFactsError("malformed", /answered for Requests, not requests-oauthlib/),
    );
    await assert.rejects(
      gatherCapabilityFacts(createHostFactSources({ baseImage: "unused" }), {
        kind: "pip",
        name: "requests",
      }),
      isFactsError("unavailable", /AIRLOCK_PIP_INDEX_URL is not set/),
    );
  });
});
