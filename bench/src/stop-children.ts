import type { ChildProcess } from 'node:child_process'

/**
 * SIGTERM to each child, then waits until each has exited. One that had already exited, with a
 * code or by a signal (a crash), is stopped: its 'exit' has been emitted and would never come again.
 * `killAfterMs`: a child still running that long after the SIGTERM gets a SIGKILL.
 */
export async function stopChildren(children: readonly ChildProcess[], options: { killAfterMs?: number } = {}): Promise<void> {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
          child.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
        }),
    ),
  )
}
