export function NoTeam() {
  return (
    <section class="card">
      <h1>No team yet</h1>
      <p>
        Configs belong to a team. Create one with <code>plugin-server team create</code> or <code>POST /api/teams</code>, then reload.
      </p>
    </section>
  )
}
