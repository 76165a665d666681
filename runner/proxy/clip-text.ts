/** Cut text stored in llm_calls at `limit` characters, saying how much was cut. */
export function clipText(text: string, limit: number): string {
  return text.length <= limit
    ? text
    : `${text.slice(0, limit)}…[truncated ${text.length - limit} characters]`;
}
