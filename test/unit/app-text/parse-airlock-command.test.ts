import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAirlockCommand } from "../../../app/text/parse-airlock-command.ts";

const opts = { agentIds: ["builtin", "claude-code"] };
const parse = (body: string) => parseAirlockCommand(body, opts);

describe("parseAirlockCommand", () => {
  it("reads run with a known agent, its instructions and the following lines", () => {
    assert.deepEqual(parse("/airlock run claude-code fix the  flaky test\nsee CI log\n"), {
      kind: "run",
      agent: "claude-code",
      instructions: "fix the  flaky test\nsee CI log",
    });
    assert.deepEqual(parse("/airlock run"), { kind: "run", instructions: "" });
  });

  it("keeps a first word that is not a known agent as part of the instructions", () => {
    assert.deepEqual(parse("/airlock run refactor the parser"), {
      kind: "run",
      instructions: "refactor the parser",
    });
    assert.deepEqual(parse("/airlock run Builtin please"), { kind: "run", instructions: "Builtin please" });
  });

  it("reads stop, retry and help, and bare /airlock as help", () => {
    assert.deepEqual(parse("/airlock stop"), { kind: "stop" });
    assert.deepEqual(parse("/airlock retry  "), { kind: "retry" });
    assert.deepEqual(parse("/airlock help"), { kind: "help" });
    assert.deepEqual(parse("/airlock"), { kind: "help" });
  });

  it("treats anything else after /airlock as feedback, stop-words included", () => {
    assert.deepEqual(parse("/airlock stop using globals"), {
      kind: "feedback",
      instructions: "stop using globals",
    });
    assert.deepEqual(parse("/airlock rename foo\nand bar"), {
      kind: "feedback",
      instructions: "rename foo\nand bar",
    });
    assert.deepEqual(parse("/airlock\nplease add tests"), {
      kind: "feedback",
      instructions: "please add tests",
    });
  });

  it("only counts the first non-empty line, within three spaces of the margin", () => {
    assert.deepEqual(parse("\r\n  \n   /airlock stop\r\n"), { kind: "stop" });
    assert.equal(parse("Thanks!\n/airlock run"), undefined);
    assert.equal(parse(""), undefined);
    assert.equal(parse("   \n\t\n"), undefined);
  });

  it("ignores quoted, fenced, indented and look-alike commands", () => {
    for (const body of [
      "> /airlock run",
      "```\n/airlock run\n```",
      "    /airlock run",
      "\t/airlock run",
      "/airlockx run",
      "/airlock-run",
      "/Airlock run",
      "`/airlock run`",
      "/airlock\u00a0run",
      "\u200b/airlock run",
    ]) {
      assert.equal(parse(body), undefined, JSON.stringify(body));
    }
  });
});
