import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { meetsPermission } from "../../../core/repo-config/meets-permission.ts";
import { permissionLevels } from "../../../core/repo-config/permission-levels.ts";

describe("meetsPermission", () => {
  it("orders GitHub's roles from read to admin", () => {
    assert.deepEqual([...permissionLevels], ["read", "triage", "write", "maintain", "admin"]);
  });

  it("lets a role through at or above the level and stops it below", () => {
    assert.equal(meetsPermission("write", "write"), true);
    assert.equal(meetsPermission("admin", "write"), true);
    assert.equal(meetsPermission("maintain", "write"), true);
    assert.equal(meetsPermission("triage", "write"), false);
    assert.equal(meetsPermission("read", "write"), false);
    assert.equal(meetsPermission("read", "read"), true);
  });

  it("refuses none, unknown or oddly cased roles", () => {
    for (const role of ["none", "", "Admin", "owner", "custom-role", "__proto__", "toString"]) {
      assert.equal(meetsPermission(role, "read"), false, role);
    }
  });
});
