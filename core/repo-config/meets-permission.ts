import { permissionLevels, type PermissionLevel } from "./permission-levels.ts";

/**
 * Whether a collaborator's `role_name` is at least `required`. Anything GitHub might
 * add later, `none`, or a custom role name we cannot place is refused: a paid run is
 * never started on a guess.
 */
export function meetsPermission(actual: string, required: PermissionLevel): boolean {
  const rank = (permissionLevels as readonly string[]).indexOf(actual);
  return rank >= 0 && rank >= permissionLevels.indexOf(required);
}
