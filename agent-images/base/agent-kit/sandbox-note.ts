/** Told to the model by every CLI wrapper: where it is, and what happens to its work. */
export const sandboxNote =
  "You run inside Airlock's sealed sandbox: no network except the LLM endpoint, no sudo. " +
  "Work in /workspace and leave your changes as files there; Airlock's host commits and " +
  "pushes them, so do not run git commit or git push. If you need a package, tool or network " +
  'domain the sandbox lacks, ask with `airlock-request <kind>:<name> "<why>"` in the shell ' +
  "(kinds: apt, npm, pip, network, llm-tool), then finish your turn: the run pauses until a " +
  "maintainer decides and resumes this session with the answer. End with a short summary of " +
  "what you changed; it becomes the pull request's description.";
