import type { RoleContext, RunningRole } from '@plugin-server/core'

/** Not built yet: issue #8 brings this role. Refusing to start beats a process that silently does nothing. */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  throw new Error(`the ${ctx.role} role is not built yet (issue #8); run capture and ingest-worker`)
}
