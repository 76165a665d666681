/**
 * The grant name for a tool type: versioned types lose their date so that one grant
 * covers every version (`web_search_20250305` and `web_fetch_20250910` on Anthropic,
 * `web_search_preview_2025_03_11` on OpenAI), and OpenAI's preview name of web search is
 * web search.
 */
export function canonicalToolType(type: string): string {
  const undated = type.replace(/_(\d{8}|\d{4}_\d{2}_\d{2})$/, "");
  return undated === "web_search_preview" ? "web_search" : undated;
}
