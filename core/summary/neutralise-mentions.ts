/** U+200D ZERO WIDTH JOINER: invisible, but GitHub only reads `@` followed by a login as a mention. */
const joiner = "\u200d";

/**
 * Text the agent wrote (its summary, its commit message, an error it caused) lands in pull
 * request bodies and comments that GitHub renders. There `@someone` or `@org/team` notifies
 * people, so a prompt-injected agent could ping anyone on GitHub from the app's account.
 * A zero-width joiner after every `@` that starts a login keeps the text readable and
 * copyable while GitHub no longer links or notifies. Email addresses lose nothing visible.
 */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, `@${joiner}`);
}
