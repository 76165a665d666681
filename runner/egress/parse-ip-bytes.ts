import { isIPv4, isIPv6 } from "node:net";

/**
 * The bytes of an IP address: 4 for IPv4, 16 for IPv6 (a zone id such as `%eth0` is
 * dropped, an embedded dotted quad such as `::ffff:1.2.3.4` is read), or undefined when
 * `address` is not an IP address in node's own reading (`net.isIP`). Only the strict
 * dotted-quad form counts as IPv4: `0x7f.1` or `2130706433` are not addresses here, and
 * the egress target parser refuses them as names for that reason.
 */
export function parseIpBytes(address: string): Uint8Array | undefined {
  if (isIPv4(address)) return parseIpv4(address);
  const unzoned = address.split("%", 1)[0] ?? "";
  if (!isIPv6(unzoned)) return undefined;
  return parseIpv6(unzoned.toLowerCase());
}

function parseIpv4(address: string): Uint8Array {
  return Uint8Array.from(address.split(".").map(Number));
}

function parseIpv6(address: string): Uint8Array {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const quad = parseIpv4(last);
    tail = [((quad[0] ?? 0) << 8) | (quad[1] ?? 0), ((quad[2] ?? 0) << 8) | (quad[3] ?? 0)];
    // "0" holds the quad's place as one group; it is swapped for the quad's two groups below.
    text = text.slice(0, lastColon + 1) + "0";
  }
  const [head = "", rest] = text.split("::", 2) as [string, string | undefined];
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  let words: number[];
  if (rest === undefined) {
    words = groups(head);
  } else {
    const left = groups(head);
    const right = groups(rest);
    // The placeholder stands for one group until it is replaced by the quad's two.
    const fill = (tail.length > 0 ? 7 : 8) - left.length - right.length;
    words = [...left, ...Array<number>(Math.max(fill, 0)).fill(0), ...right];
  }
  if (tail.length > 0) words = [...words.slice(0, -1), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}
