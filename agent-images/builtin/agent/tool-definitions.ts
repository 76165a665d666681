import type { ChatCompletionFunctionTool } from "openai/resources/chat/completions";

function tool(
  name: string,
  description: string,
  properties: object,
  required: string[],
): ChatCompletionFunctionTool {
  return {
    type: "function",
    function: {
      name,
      description,
      parameters: { type: "object", properties, required, additionalProperties: false },
    },
  };
}

/** The tools the model may call; JSON Schema kept simple so small local models handle it too. */
export const toolDefinitions: ChatCompletionFunctionTool[] = [
  tool(
    "list_files",
    "List files and folders under a path of the workspace (folders end with /).",
    {
      path: { type: "string", description: 'Folder relative to /workspace; default "."' },
      depth: { type: "integer", description: "How many levels to descend, 1-10; default 2" },
    },
    [],
  ),
  tool(
    "read_file",
    "Read a text file of the workspace, optionally a range of lines.",
    {
      path: { type: "string", description: "File relative to /workspace" },
      offset: { type: "integer", description: "First line to read (1-based); default 1" },
      limit: { type: "integer", description: "Number of lines; default 2000" },
    },
    ["path"],
  ),
  tool(
    "write_file",
    "Create or overwrite a whole file (parent folders are created).",
    {
      path: { type: "string", description: "File relative to /workspace" },
      content: { type: "string", description: "The complete new content" },
    },
    ["path", "content"],
  ),
  tool(
    "edit_file",
    "Replace one exact occurrence of `old` with `new` in a file. `old` must match exactly once, whitespace included.",
    {
      path: { type: "string", description: "File relative to /workspace" },
      old: { type: "string", description: "Exact text to replace; include enough lines to be unique" },
      new: { type: "string", description: "Replacement text" },
    },
    ["path", "old", "new"],
  ),
  tool(
    "run_command",
    "Run a command in the sandbox (no network) and get its exit code, stdout and stderr (capped). " +
      "Give either `command`, a shell string run with /bin/sh -c, or `argv`, a program and its arguments.",
    {
      command: { type: "string", description: 'Shell command, e.g. "npm test 2>&1 | tail -50"' },
      argv: { type: "array", items: { type: "string" }, description: 'e.g. ["git", "diff", "--stat"]' },
      cwd: { type: "string", description: 'Folder relative to /workspace; default "."' },
      timeout_s: { type: "number", description: "Seconds before the command is killed; default 120" },
    },
    [],
  ),
  tool(
    "request_capability",
    "Ask the maintainers for something the sandbox lacks: an apt, npm or pip package, a network domain, or a provider-hosted LLM tool (llm-tool, e.g. web_search). Approval takes a human review; follow what the host answers.",
    {
      kind: { type: "string", enum: ["apt", "npm", "pip", "network", "llm-tool"] },
      name: { type: "string", description: "Package name, domain, or hosted tool type" },
      version: {
        type: "string",
        description:
          "Optional: npm an exact version or range, pip an exact version; apt, network and llm-tool take none",
      },
      reason: { type: "string", description: "Why the task needs it" },
    },
    ["kind", "name", "reason"],
  ),
  tool(
    "finish",
    "End the task. Give a short summary of what you changed and why, and anything left undone.",
    { summary: { type: "string", description: "Markdown summary for the pull request" } },
    ["summary"],
  ),
];
