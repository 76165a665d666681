/**
 * `anthropic-beta` values that switch on reach or spend, by prefix, with the grant that
 * keeps them. Any other value (claude-code-*, interleaved-thinking-*, context-management-*,
 * fine-grained-tool-streaming-*, effort-*, prompt-caching-*, output-128k-*, …) only shapes
 * generation and passes. These are dropped rather than refused: the body fields they would
 * enable are refused on their own, and Claude Code sends its beta list on every call.
 */
export const reachBetas: readonly { prefix: string; grant: string; why: string }[] = [
  { prefix: "mcp-client-", grant: "mcp", why: "the provider connects to MCP servers" },
  { prefix: "web-fetch-", grant: "web_fetch", why: "the provider fetches URLs" },
  { prefix: "web-search-", grant: "web_search", why: "the provider searches the web" },
  { prefix: "code-execution-", grant: "code_execution", why: "the provider runs code in its containers" },
  { prefix: "files-api-", grant: "files", why: "files stored with the provider" },
  { prefix: "skills-", grant: "skills", why: "skills run in the provider's containers" },
  {
    prefix: "context-1m-",
    grant: "long_context",
    why: "long-context calls are billed above the price table",
  },
  { prefix: "fast-mode-", grant: "fast_mode", why: "fast mode is billed above the price table" },
];

/** The header value to forward (undefined: none left) and the values dropped. */
export function filterAnthropicBeta(
  value: string | undefined,
  grants: ReadonlySet<string>,
): { value: string | undefined; dropped: string[] } {
  if (value === undefined) return { value: undefined, dropped: [] };
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const raw of value.split(",")) {
    const beta = raw.trim();
    if (beta === "") continue;
    const reach = reachBetas.find((r) => beta.toLowerCase().startsWith(r.prefix));
    if (reach && !grants.has(reach.grant)) dropped.push(beta);
    else kept.push(beta);
  }
  return { value: kept.length > 0 ? kept.join(",") : undefined, dropped };
}
