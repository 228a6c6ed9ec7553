/**
 * `plugin-server team list | head`: the reader leaves once it has enough, and the next write to
 * stdout fails with EPIPE. Nothing is wrong then, and no one is left to read the rest: the command
 * ends as if it had printed everything (exit 0), instead of dying with a fatal uncaught error. Any
 * other failure of stdout is still one.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
}
