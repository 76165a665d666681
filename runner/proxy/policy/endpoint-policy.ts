/**
 * The shape of one endpoint's request policy (issue 9 §1). A policy is data: a reviewer
 * reads the `refused` rows of each endpoint's table to know everything the proxy holds
 * back, and `passes` to know what was looked at and let through on purpose.
 *
 * The rule of the tables: a field is refused for what it does — reach outside the sandbox
 * from the provider's side, or spend that the price table does not know — never for being
 * new. Fields that only shape generation pass unchanged, known or not. Tool types are the
 * exception: a tool type is where a provider runs something on the agent's behalf, so only
 * the client-executed types listed in a table pass, and any other type is refused.
 */
export interface PolicyMatch {
  /** Where in this body, e.g. `tools[2].type` or `messages[0].content[1].source.url`. */
  field: string;
  /** What was found there, short and without quoting content (a type, a flag, a scheme). */
  value: string;
  /** The hosted tool type a run must hold as capability `llm-tool:<grant>` to send it. */
  grant: string;
}

export interface RefusalRule {
  /** The field as the README table names it. */
  field: string;
  /** The grant that opens it, as the README table names it (`<type>` when it is the tool's own type). */
  grant: string;
  /** Why it is refused: what it would reach or spend. */
  why: string;
  find(body: Readonly<Record<string, unknown>>): PolicyMatch[];
}

export interface EndpointPolicy {
  /** `METHOD /path`, as the proxy routes it. */
  route: string;
  refused: readonly RefusalRule[];
  /** Reviewed and passed unchanged. Documentation only: fields not listed pass too. */
  passes: readonly string[];
}

/** A refusal found in a request: the rule's reason with the place it was found. */
export interface PolicyFinding extends PolicyMatch {
  why: string;
}
