/** Text from a plugin as the host keeps it: its first `max` characters, marked when cut. */
export function cutText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (truncated)` : text
}
