export function Loading({ what }: { what?: string }) {
  return <p class="muted">Loading{what ? ` ${what}` : ''}…</p>
}
