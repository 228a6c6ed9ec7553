import assert from 'node:assert/strict'
import pino from 'pino'
import { PluginLogWriter } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase } from '../harness/databases'

describe('PluginLogWriter (plugin logs)', () => {
  let db: TestDatabase
  beforeEach(async () => (db = await createTestDatabase()))
  afterEach(async () => db.drop())

  it('writes batched rows with ids, source and type, and pino lines with team/plugin/config ids, secrets redacted', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) })
    const writer = new PluginLogWriter(db.pool, logger, 'instance-1')
    const target = { teamId: 3, pluginId: 4, pluginConfigId: 5, pluginName: 'P', secrets: ['sk_live_TOPSECRET'] }
    writer.write(target, 'CONSOLE', 'LOG', 'hello')
    writer.write(target, 'PLUGIN', 'ERROR', 'failed calling https://api/?key=sk_live_TOPSECRET')
    await writer.close()
    const { rows } = await db.pool.query('SELECT team_id, plugin_id, plugin_config_id, source, type, message, instance_id FROM plugin_log_entries ORDER BY id')
    assert.deepEqual(rows, [
      { team_id: 3, plugin_id: 4, plugin_config_id: 5, source: 'CONSOLE', type: 'LOG', message: 'hello', instance_id: 'instance-1' },
      {
        team_id: 3,
        plugin_id: 4,
        plugin_config_id: 5,
        source: 'PLUGIN',
        type: 'ERROR',
        message: 'failed calling https://api/?key=***',
        instance_id: 'instance-1',
      },
    ])
    assert.ok(!lines.join('').includes('TOPSECRET'))
    const parsed = JSON.parse(lines[1]) as Record<string, unknown>
    assert.equal(parsed.plugin_config_id, 5)
    assert.equal(parsed.team_id, 3)
    assert.equal(parsed.level, 50)
  })

  it('keeps the first 10 000 characters of a 5 MB line, with a secret across the cut taken out whole, not shown in part', async () => {
    const lines: string[] = []
    const writer = new PluginLogWriter(db.pool, pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }), 'instance-1')
    const secret = 'sk_live_TOPSECRET_0123456789'
    const target = { teamId: 3, pluginId: 4, pluginConfigId: 5, pluginName: 'P', secrets: [secret] }
    writer.write(target, 'PLUGIN', 'ERROR', 'x'.repeat(9990) + secret + 'y'.repeat(5 * 1024 * 1024))
    await writer.close()
    const { rows } = await db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries')
    assert.equal(rows[0].message, 'x'.repeat(9990) + '***' + 'y'.repeat(7))
    assert.ok(!lines.join('').includes('sk_live_TOP'))
  })

  it("puts the plugin's stack frames after an error's first line: no runtime frames, no host paths, no secrets, at most 20 frames", async () => {
    const writer = new PluginLogWriter(db.pool, pino({ level: 'silent' }), 'instance-1')
    const target = { teamId: 3, pluginId: 4, pluginConfigId: 5, pluginName: 'P', secrets: ['sk_live_TOPSECRET'] }
    const stack = [
      'Error: boom sk_live_TOPSECRET',
      '    at lookup (plugin/p/index.js:12:11)',
      '    at processEvent (plugin/p/index.js:30:5)',
      '    at callMethod (plugin-vm-runtime.js:412:20)',
      '    at shaped (/home/deploy/app/node_modules/secret-dir/x.js:1:1)',
      '    at withKey (plugin/p/index.js:40:1) sk_live_TOPSECRET',
    ].join('\n')
    writer.write(target, 'PLUGIN', 'ERROR', 'processEvent failed: Error: boom', stack)
    writer.write(
      target,
      'PLUGIN',
      'ERROR',
      'deep',
      ['RangeError: deep', ...Array.from({ length: 25 }, (_, i) => `    at f${i} (plugin/p/index.js:${i}:1)`)].join('\n'),
    )
    writer.write(target, 'PLUGIN', 'ERROR', 'no frames', 'just a string a plugin put in its stack')
    await writer.close()
    const { rows } = await db.pool.query<{ message: string }>('SELECT message FROM plugin_log_entries ORDER BY id')
    assert.equal(
      rows[0].message,
      [
        'processEvent failed: Error: boom',
        '    at lookup (plugin/p/index.js:12:11)',
        '    at processEvent (plugin/p/index.js:30:5)',
        '    at shaped (x.js:1:1)',
        '    at withKey (plugin/p/index.js:40:1) ***',
      ].join('\n'),
    )
    const deep = rows[1].message.split('\n')
    assert.equal(deep.length, 1 + 20 + 1)
    assert.equal(deep[21], '    … 5 more frames')
    assert.equal(rows[2].message, 'no frames')
  })

  it('keeps each config to PLUGIN_LOG_LINES_PER_MINUTE lines in Postgres and pino, says once what it dropped, and leaves other configs their own lines', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
    const writer = new PluginLogWriter(db.pool, logger, 'instance-1', { flushIntervalMs: 500, maxBuffered: 10_000, linesPerMinute: 10 })
    const loud = { teamId: 3, pluginId: 4, pluginConfigId: 5, pluginName: 'loud', secrets: [] }
    const quiet = { teamId: 6, pluginId: 7, pluginConfigId: 8, pluginName: 'quiet', secrets: [] }
    // One synchronous run: all in the same minute.
    for (let i = 0; i < 500; i++) {
      writer.write(loud, 'CONSOLE', 'LOG', `loud ${i}`)
      if (i % 100 === 0) writer.write(quiet, 'CONSOLE', 'LOG', `quiet ${i}`)
    }
    // The server's own line about the loud config has a quota of its own: the plugin's flood does not hide it.
    writer.write(loud, 'SYSTEM', 'WARN', 'a notice from the server')
    await writer.close()
    const { rows } = await db.pool.query<{ plugin_config_id: number; source: string; type: string; message: string }>(
      'SELECT plugin_config_id, source, type, message FROM plugin_log_entries ORDER BY id',
    )
    const of = (configId: number) => rows.filter((r) => r.plugin_config_id === configId)
    assert.deepEqual(
      of(5)
        .slice(0, 10)
        .map((r) => r.message),
      Array.from({ length: 10 }, (_, i) => `loud ${i}`),
    )
    assert.equal(of(5).length, 12)
    assert.equal(of(5)[10].message, 'a notice from the server')
    assert.deepEqual(of(5)[11].source + ' ' + of(5)[11].type, 'SYSTEM WARN')
    assert.match(
      of(5)[11].message,
      /^490 log lines of this plugin were dropped in the minute from \d\d:\d\d UTC: over PLUGIN_LOG_LINES_PER_MINUTE \(10 lines a minute per plugin config and worker process\)$/,
    )
    assert.deepEqual(
      of(8).map((r) => r.message),
      ['quiet 0', 'quiet 100', 'quiet 200', 'quiet 300', 'quiet 400'],
    )
    assert.equal(lines.filter((l) => l.includes('"plugin":"loud"')).length, 12, "the operators' log gets the same 10 lines, the server's and the notice")
  })

  it('keeps each config to PLUGIN_LOG_KB_PER_MINUTE of text too: 10 000-character lines stop at the quota, short ones go on, and the notice names the quota', async () => {
    const writer = new PluginLogWriter(db.pool, pino({ level: 'silent' }), 'instance-1', {
      flushIntervalMs: 500,
      maxBuffered: 10_000,
      linesPerMinute: 1000,
      charsPerMinute: 50 * 1024,
    })
    const loud = { teamId: 3, pluginId: 4, pluginConfigId: 5, pluginName: 'loud', secrets: [] }
    // One synchronous run: all in the same minute.
    for (let i = 0; i < 100; i++) writer.write(loud, 'CONSOLE', 'LOG', `${i} `.padEnd(20_000, 'x'))
    writer.write(loud, 'CONSOLE', 'LOG', 'short')
    // The server's own lines quote the plugin's messages (a delivery failure): they have four times the characters.
    for (let i = 0; i < 30; i++) writer.write(loud, 'SYSTEM', 'WARN', `delivery failed ${i}: `.padEnd(10_000, 'y'))
    await writer.close()
    const all = await db.pool.query<{ source: string; message: string }>(
      'SELECT source, message FROM plugin_log_entries WHERE plugin_config_id = 5 ORDER BY id',
    )
    assert.equal(all.rows.filter((r) => r.source === 'SYSTEM' && r.message.startsWith('delivery failed')).length, 20, "the server's lines to 4 × 50 KB")
    const rows = all.rows.filter((r) => !r.message.startsWith('delivery failed'))
    assert.deepEqual(
      rows.slice(0, 6).map((r) => r.message.length),
      [10_000, 10_000, 10_000, 10_000, 10_000, 5],
      'five lines of 10 000 characters fit 51 200, then the short one; the rest dropped',
    )
    assert.deepEqual(
      rows.slice(6).map((r) => r.message.replace(/\d\d:\d\d/, 'hh:mm')),
      [95, 10].map(
        (n) =>
          `${n} log lines of this plugin were dropped in the minute from hh:mm UTC: over PLUGIN_LOG_KB_PER_MINUTE (50 KB of text a minute per plugin config and worker process)`,
      ),
      "the notices of the plugin's lines and of the server's",
    )
  })

  it("keeps a team to a quarter of the buffer while Postgres fails, so other teams' lines stay, warns of the failing writes once, and tells each config what it dropped once rows are written", async () => {
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
    const writer = new PluginLogWriter(db.pool, logger, 'instance-1', { flushIntervalMs: 60_000, maxBuffered: 100, linesPerMinute: 10_000 })
    const loud = { teamId: 3, pluginId: 4, pluginConfigId: 5, pluginName: 'loud', secrets: [] }
    const quiet = { teamId: 6, pluginId: 7, pluginConfigId: 8, pluginName: 'quiet', secrets: [] }
    const late = { teamId: 9, pluginId: 10, pluginConfigId: 11, pluginName: 'late', secrets: [] }
    // A real failure of the insert: the table is not there.
    await db.pool.query('ALTER TABLE plugin_log_entries RENAME TO plugin_log_entries_away')
    for (let i = 0; i < 80; i++) writer.write(loud, 'CONSOLE', 'LOG', `loud ${i}`)
    for (let i = 0; i < 10; i++) writer.write(quiet, 'CONSOLE', 'LOG', `quiet ${i}`)
    // Each flush tries again; the operators' log says so once (then at most once a minute).
    for (let i = 0; i < 3; i++) await writer.flush()
    assert.equal(lines.filter((l) => l.includes('could not write plugin log entries')).length, 1)
    // The failed insert's rows are still held: the loud team gets no more room, others still do.
    for (let i = 80; i < 130; i++) writer.write(loud, 'CONSOLE', 'LOG', `loud ${i}`)
    for (let i = 0; i < 5; i++) writer.write(late, 'CONSOLE', 'LOG', `late ${i}`)
    await db.pool.query('ALTER TABLE plugin_log_entries_away RENAME TO plugin_log_entries')
    await writer.close()
    const { rows } = await db.pool.query<{ plugin_config_id: number; source: string; message: string }>(
      'SELECT plugin_config_id, source, message FROM plugin_log_entries ORDER BY id',
    )
    const of = (configId: number) => rows.filter((r) => r.plugin_config_id === configId)
    const plugin = (configId: number) =>
      of(configId)
        .filter((r) => r.source === 'CONSOLE')
        .map((r) => r.message)
    assert.deepEqual(
      plugin(5),
      Array.from({ length: 25 }, (_, i) => `loud ${i}`),
      'the first 25 of the loud team, a quarter of 100',
    )
    assert.deepEqual(
      plugin(8),
      Array.from({ length: 10 }, (_, i) => `quiet ${i}`),
    )
    assert.deepEqual(
      plugin(11),
      Array.from({ length: 5 }, (_, i) => `late ${i}`),
    )
    const notices = of(5).filter((r) => r.source === 'SYSTEM')
    assert.equal(notices.length, 1)
    assert.match(notices[0].message, /^105 log lines of this plugin were dropped: this worker process's log buffer \(100 rows, a team's at most 25\) was full/)
    assert.equal(of(8).length + of(11).length, 15, 'no notice for teams that dropped nothing')
    const warning = lines
      .map((l) => JSON.parse(l) as { msg: string; dropped?: number; dropped_by_team?: Record<string, number> })
      .find((l) => l.dropped !== undefined)
    assert.deepEqual(warning && { dropped: warning.dropped, byTeam: warning.dropped_by_team }, { dropped: 105, byTeam: { 3: 105 } })
  })
})
