import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { hashImageGrants } from "../../core/capabilities/hash-image-grants.ts";

describe("hashImageGrants: the content hash app and Action share (issue 11)", () => {
  it("is the sha256 of the JSON list of canonical grant texts, sorted and de-duplicated", () => {
    const expected = createHash("sha256")
      .update('["apt:jq","npm:left-pad@1.3.0","pip:requests==2.32.3"]')
      .digest("hex");
    assert.equal(
      hashImageGrants([
        { kind: "pip", name: "requests", version: "2.32.3" },
        { kind: "apt", name: "jq" },
        { kind: "npm", name: "left-pad", version: "1.3.0" },
        { kind: "apt", name: "jq" },
      ]),
      expected,
    );
  });

  it("changes with any grant, its version or its kind", () => {
    const base = hashImageGrants([{ kind: "apt", name: "jq" }]);
    assert.notEqual(hashImageGrants([{ kind: "apt", name: "jq", version: "1.6-2.1" }]), base);
    assert.notEqual(hashImageGrants([{ kind: "npm", name: "jq" }]), base);
    assert.notEqual(
      hashImageGrants([
        { kind: "apt", name: "jq" },
        { kind: "apt", name: "curl" },
      ]),
      base,
    );
  });
});
