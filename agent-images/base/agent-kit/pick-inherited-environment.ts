/**
 * What a CLI keeps of the container's environment: the rest (the run token under the
 * runner's names, anything unexpected) stays out, since the CLI's shell commands inherit
 * all it is given.
 */
export function pickInheritedEnvironment(inherited: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ["PATH", "HOME", "LANG", "AIRLOCK_BRIDGE_PORT", "AIRLOCK_STATE_DIR"]) {
    if (inherited[name] !== undefined) env[name] = inherited[name];
  }
  return env;
}
