import { isMap, isSeq, LineCounter, parseDocument } from "yaml";

/** Where one entry of capabilities.yml sits, 1-based: for a review comment on the right line. */
export interface CapabilityLine {
  index: number;
  kind: string;
  name: string;
  /** The entry's first line (`- kind: …`). */
  line: number;
  /** The line of its `name:`. */
  nameLine: number;
}

/**
 * The line of each entry in a capabilities.yml text (as rendered by
 * renderCapabilitiesFile, or edited by hand): read from the YAML's own source positions,
 * not by matching text, so reasons that look like keys cannot move a comment.
 * Throws nothing: a text that is not a capabilities list gives no lines.
 */
export function locateCapabilityLines(text: string): CapabilityLine[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return [];
  const list = doc.contents.get("capabilities", true);
  if (!isSeq(list)) return [];
  const lines: CapabilityLine[] = [];
  list.items.forEach((item, index) => {
    if (!isMap(item) || !item.range) return;
    const namePair = item.items.find((pair) => (pair.key as { value?: unknown } | null)?.value === "name");
    const nameStart = (namePair?.key as { range?: [number, number, number] } | null)?.range?.[0];
    lines.push({
      index,
      kind: String(item.get("kind") ?? ""),
      name: String(item.get("name") ?? ""),
      line: counter.linePos(item.range[0]).line,
      nameLine:
        nameStart === undefined ? counter.linePos(item.range[0]).line : counter.linePos(nameStart).line,
    });
  });
  return lines;
}
