// The claude-code image's entry point (its CMD): write Claude Code's settings into the
// agent's home, run it headless on the task (or continue its session on resume), write
// its final message to .airlock/summary.md and exit with a code the runner tells apart.
// The run itself (prompt, stdin, signals, summary, exit codes) is the base image's agent
// kit; this file holds only what is Claude Code's own.
import { runCliWrapper } from "../../base/agent-kit/run-cli-wrapper.ts";
import { sandboxNote } from "../../base/agent-kit/sandbox-note.ts";
import { buildClaudeEnvironment } from "./build-claude-environment.ts";
import { readClaudeResult } from "./read-claude-result.ts";
import { readWrapperConfig } from "./read-wrapper-config.ts";
import { writeClaudeSettings } from "./write-claude-settings.ts";

const claudeBinary = "/opt/claude-code/bin/claude.exe";

runCliWrapper({
  logName: "airlock-claude-code",
  title: "Claude Code",
  exitName: "claude",
  readConfig: () => readWrapperConfig(),
  async prepare(config, prompt) {
    await writeClaudeSettings(config);
    const resuming = config.resumePath !== undefined;
    return {
      command: claudeBinary,
      args: [
        ...(resuming ? ["--continue"] : []),
        "--print",
        "--output-format",
        "json",
        "--dangerously-skip-permissions",
        "--model",
        config.model,
        "--max-turns",
        String(config.maxTurns),
        // Only Airlock's settings: a repository's .claude/settings.json may not change the
        // model, the permissions or the hooks, and no MCP server is started.
        "--setting-sources",
        "user",
        "--strict-mcp-config",
        "--no-chrome",
        // Both would only fail here (no network), and WebSearch is a provider-side tool the
        // proxy refuses without an llm-tool grant: the model is not offered them.
        "--disallowed-tools",
        "WebFetch,WebSearch",
        // On every run, resumed too: where it is, and what happens to its work.
        "--append-system-prompt",
        sandboxNote,
      ],
      env: buildClaudeEnvironment(config, process.env),
      stdin: prompt,
      startNote:
        `${resuming ? "continuing its session" : "starting"}: model ${config.model}, ` +
        `at most ${config.maxTurns} turns, ${config.maxRetries} retries, config in ${config.configDir}`,
    };
  },
  readOutcome: (stdout, exitCode) => readClaudeResult(stdout, exitCode),
});
