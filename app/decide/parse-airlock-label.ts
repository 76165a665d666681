/**
 * The agent a label `airlock:<agent>` asks for; undefined for any other label. The id is
 * still checked against the repository's allowed agents before anything runs.
 */
export function parseAirlockLabel(name: string): string | undefined {
  const match = /^airlock:(.+)$/i.exec(name.trim());
  const agent = match?.[1]?.trim().toLowerCase();
  return agent ? agent : undefined;
}
