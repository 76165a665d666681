/**
 * Untrusted GitHub text (issue bodies, comments, review comments) is cleaned before an
 * agent or a reply sees it, so that the agent reads what a maintainer reading the page
 * sees, and nothing more: prompt injection hides in HTML comments, hidden elements,
 * alt text, link reference definitions and invisible or bidi characters.
 */
export interface CleanedText {
  text: string;
  truncated: boolean;
  removed: { htmlComments: number; invisibleChars: number; hiddenMarkup: number };
}

export const TRUNCATION_MARKER = "[… truncated by Airlock]";
const DEFAULT_MAX_CHARS = 8000;

// Zero-width and format characters, bidi controls (the "Trojan Source" / RTL-override
// filename trick), Unicode tag characters and variation selectors (ASCII smuggled
// invisibly), Hangul fillers, and C0/C1 controls other than tab and newline (terminal
// escapes).
/* eslint-disable no-misleading-character-class -- combining and variation characters are listed on purpose, each to be removed on its own */
const INVISIBLE = new RegExp(
  "[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u00AD\\u034F\\u061C\\u115F\\u1160" +
    "\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2064\\u2066-\\u206F\\u3164" +
    "\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF9-\\uFFFB\\u{1BCA0}-\\u{1BCA3}\\u{1D173}-\\u{1D17A}" +
    "\\u{E0000}-\\u{E007F}\\u{E0100}-\\u{E01EF}]",
  "gu",
);
/* eslint-enable no-misleading-character-class */
// An unterminated comment hides everything after it on GitHub, so it is removed to the end.
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const TAG = /<(\/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>/g;
// `![alt](url)` and `![alt][ref]`, alt text with at most one level of brackets. The
// lookbehind starts a match at the first `!` of a run and the label excludes bare `[`, so
// `!!!!…` and `![![![…` are scanned in linear time.
const MARKDOWN_IMAGE =
  /(?<!!)!+\[(?:[^[\]\n]|\[[^[\]\n]*\])*\](?:\([^)\n]*\)|\[(?:[^[\]\n]|\[[^[\]\n]*\])*\])/g;
// Never rendered: `[//]: # (note)`, `[comment]: <> (note)`, and any other definition, whose label and title are invisible.
const LINK_REFERENCE_DEFINITION =
  /^ {0,3}\[[^\]\n]+\]:[ \t]*\S+(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*(?:\n|$)/gm;
const BLANK_LINE_RUN = /\n(?:[ \t]*\n){3,}/g;

/** Removed together with everything inside: their content never shows on the page. */
const DROP_WITH_CONTENT = new Set(
  "script style template noscript noembed noframes iframe frame frameset object embed applet svg math textarea select option title head xmp plaintext audio video canvas".split(
    " ",
  ),
);
const IMAGES = new Set(["img", "picture", "image"]);
const VOID_ELEMENTS = new Set(
  "area base br col embed hr img image input link meta param source track wbr".split(" "),
);
/** Their tags become a line break, so that `<p>a</p><p>b</p>` does not read as `ab`. */
const BLOCK_ELEMENTS = new Set(
  "address article aside blockquote br center dd details div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul".split(
    " ",
  ),
);
/** Names GitHub (or a browser) treats as HTML: their tags are removed even without attributes. */
const HTML_ELEMENTS = new Set([
  ...DROP_WITH_CONTENT,
  ...IMAGES,
  ...VOID_ELEMENTS,
  ...BLOCK_ELEMENTS,
  ..."a abbr address article aside b bdi bdo big blink blockquote body button caption center cite code dd del details dfn dialog dir div dl dt em fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 header html i ins kbd label legend li main mark marquee menu meter nav ol optgroup output p pre progress q rp rt ruby s samp section slot small span strike strong sub summary sup table tbody td tfoot th thead time tr tt u ul var".split(
    " ",
  ),
]);

export function cleanUntrustedText(text: string, opts: { maxChars?: number } = {}): CleanedText {
  const removed = { htmlComments: 0, invisibleChars: 0, hiddenMarkup: 0 };
  let out = String(text)
    .toWellFormed()
    .replace(/\r\n?|[\u2028\u2029]/g, "\n");
  out = out.replace(INVISIBLE, () => {
    removed.invisibleChars += 1;
    return "";
  });
  out = out.normalize("NFC");
  out = out.replace(HTML_COMMENT, () => {
    removed.htmlComments += 1;
    return "";
  });
  out = removeHiddenElements(out, removed);
  out = out.replace(TAG, (tag, _slash: string, name: string, attributes: string | undefined) => {
    const lower = name.toLowerCase();
    // `List<String>` in prose is code, not markup, and an attribute-less unknown tag hides nothing.
    if (!HTML_ELEMENTS.has(lower) && attributes === undefined) return tag;
    return BLOCK_ELEMENTS.has(lower) ? "\n" : "";
  });
  out = out.replace(MARKDOWN_IMAGE, () => {
    removed.hiddenMarkup += 1;
    return "[image]";
  });
  out = out.replace(LINK_REFERENCE_DEFINITION, () => {
    removed.hiddenMarkup += 1;
    return "";
  });
  out = out.replace(BLANK_LINE_RUN, "\n\n\n");
  out = neutralizeLeftoverMarkup(out);
  out = out
    .normalize("NFC")
    .replace(/^(?:[ \t]*\n)+/, "")
    .trimEnd();
  return truncate(out, Math.max(opts.maxChars ?? DEFAULT_MAX_CHARS, TRUNCATION_MARKER.length + 2), removed);
}

/**
 * Elements whose content the page does not show (hidden, display:none, script, ...) go
 * with their content; `<img>` and `<picture>` become `[image]` because alt and title text
 * are a channel a reader never sees. An unclosed one hides the rest, as in a browser.
 */
function removeHiddenElements(text: string, removed: CleanedText["removed"]): string {
  const opening = /<([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>/g;
  let out = "";
  let position = 0;
  for (let match = opening.exec(text); match !== null; match = opening.exec(text)) {
    const name = (match[1] ?? "").toLowerCase();
    const attributes = match[2] ?? "";
    const image = IMAGES.has(name);
    if (!image && !DROP_WITH_CONTENT.has(name) && !isHiddenByAttributes(attributes)) continue;
    removed.hiddenMarkup += 1;
    out += text.slice(position, match.index) + (image ? "[image]" : "");
    position = VOID_ELEMENTS.has(name) ? opening.lastIndex : findClosingTag(text, name, opening.lastIndex);
    opening.lastIndex = position;
  }
  return out + text.slice(position);
}

function isHiddenByAttributes(attributes: string): boolean {
  return (
    /(?:^|\s)hidden(?:[\s=/]|$)/i.test(attributes) ||
    /(?:^|\s)aria-hidden\s*=\s*["']?true/i.test(attributes) ||
    /(?:display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(?![.\d]*[1-9])|font-size\s*:\s*0(?![.\d]*[1-9]))/i.test(
      attributes,
    )
  );
}

/** Index just past the tag closing the element opened before `from`, counting nesting; the text's end when unclosed. */
function findClosingTag(text: string, name: string, from: number): number {
  const tags = new RegExp(`<(/?)${name}(?=[\\s/>])[^<>]*>`, "gi");
  tags.lastIndex = from;
  let depth = 1;
  for (let match = tags.exec(text); match !== null; match = tags.exec(text)) {
    depth += match[1] === "/" ? -1 : 1;
    if (depth === 0) return tags.lastIndex;
  }
  return text.length;
}

/**
 * Removing markup can join what was around it into new markup (`<<b>b>` → `<b>`,
 * `![a]![b](c)` → `![a][image]`). What is left that would still be read as a comment or
 * tag gets a space after its `<` (the `<` itself stays, as it bounds what
 * follows), an image gets a space after its `!`
 * (removing the `!` could turn the line into a link definition), so cleaning the
 * result again changes nothing and nothing hidden survives.
 */
function neutralizeLeftoverMarkup(text: string): string {
  return text
    .replace(MARKDOWN_IMAGE, (image) => image.replace(/^(!+)/, "$1 "))
    .replace(/<(?=!--)/g, "< ")
    .replace(TAG, (tag, _slash: string, name: string, attributes: string | undefined) =>
      HTML_ELEMENTS.has(name.toLowerCase()) || attributes !== undefined ? `< ${tag.slice(1)}` : tag,
    );
}

function truncate(text: string, maxChars: number, removed: CleanedText["removed"]): CleanedText {
  const codePoints = Array.from(text);
  if (codePoints.length <= maxChars) return { text, truncated: false, removed };
  // The marker counts against the cap, so the result is within it and cleaning it again keeps it as is.
  const kept = codePoints
    .slice(0, maxChars - TRUNCATION_MARKER.length - 2)
    .join("")
    .trimEnd();
  return { text: `${kept}\n\n${TRUNCATION_MARKER}`, truncated: true, removed };
}
