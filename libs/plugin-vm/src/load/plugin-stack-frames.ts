/** Enough frames to find the line that threw; a deep recursion is not worth 10 000 characters. */
const MAX_FRAMES = 20
const MAX_FRAME_LENGTH = 300
/** The sandbox's own runtime: its frames say nothing about the plugin's code. */
const RUNTIME_FILE = 'plugin-vm-runtime.js'
/** Absolute paths (POSIX, file: URLs, Windows drives): a stack shaped by the plugin may name anything. */
const ABSOLUTE_PATH = /(?<=^|[\s(])(?:file:\/\/)?(?:[A-Za-z]:)?(?:[\\/][^\s\\/():]+)+[\\/]([^\s\\/():]+)/g

/**
 * The frames of a stack the plugin's isolate produced (`    at fn (plugin/name/index.js:3:9)`),
 * for an ERROR log row: without the first `Name: message` line (the row already says it), without
 * the sandbox runtime's frames, with absolute paths cut to their file name, at most 20 frames.
 * Secret values are removed by the writer with the rest of the message. Null when no frame is left.
 */
export function pluginStackFrames(stack: string | undefined): string | null {
  if (typeof stack !== 'string' || stack === '') return null
  const frames = stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at ') && !line.includes(RUNTIME_FILE))
    .map((line) => `    ${line.replace(ABSOLUTE_PATH, '$1').slice(0, MAX_FRAME_LENGTH)}`)
  if (frames.length === 0) return null
  const kept = frames.slice(0, MAX_FRAMES)
  if (frames.length > MAX_FRAMES) kept.push(`    … ${frames.length - MAX_FRAMES} more frames`)
  return kept.join('\n')
}
