import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { PostHog } from 'posthog-node'
import { zipFolder } from '../harness/archives'
import { BrowserSession, launchBrowser, login } from '../harness/browser'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import type { FleetProcess } from '../harness/processes'
import { FIXTURES } from '../harness/plugins'

export const OPERATOR_TOKEN = 'ui-test-operator-token-0123456789'

/** A secret no response, log line or DOM node may ever show once it is saved. */
export const SECRET_API_KEY = 'sk_ui_secret_5f1e2d3c4b5a69788796a5b4'

/** Polling for the test's side (database rows, sink requests); the page side uses Playwright's own waiting. */
export function until<T>(what: string, fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  return eventually(what, fn, ok, timeoutMs)
}

export type Role = 'capture' | 'ingest-worker' | 'exporter' | 'job-worker' | 'scheduler'

export interface UiFleet {
  fleet: TestFleet
  browser: Browser
  /** The operator's session, logged in. */
  operator: BrowserSession
  /** The role processes, by role (their log lines help when a test fails). */
  processes: Partial<Record<Role, FleetProcess>>
  close: () => Promise<void>
}

/**
 * A fleet with the admin API on (operator token), the roles a test file needs, and a browser
 * whose operator session is logged in. Delays are short so live views move within a test.
 */
export async function startUiFleet(roles: Role[], extraEnv: Record<string, string> = {}): Promise<UiFleet> {
  const fleet = await createTestFleet({
    ADMIN_API_TOKEN: OPERATOR_TOKEN,
    TIME_SCALE: '100',
    CAPTURE_BATCH_MAX_WAIT_MS: '0',
    EXPORT_BUFFER_MAX_AGE_MS: '200',
    EXPORT_FLUSH_INTERVAL_MS: '50',
    ...extraEnv,
  })
  let browser: Browser | null = null
  try {
    const started = Promise.all(roles.map((role) => fleet.start(role)))
    // Awaited below; this only keeps a failure from going unhandled if the browser fails first.
    started.catch(() => undefined)
    browser = await launchBrowser()
    const processes = Object.fromEntries((await started).map((proc, i) => [roles[i], proc]))
    // A missing build would otherwise show up as a login form that never appears.
    const index = await fetch(`${fleet.captureUrl}/admin/`)
    const html = await index.text()
    if (index.status !== 200 || !html.includes('<script'))
      throw new Error(`GET /admin/ answered ${index.status}: ${html.slice(0, 300)} (is the UI built? npm run build)`)
    const operator = await BrowserSession.open(browser, fleet.captureUrl)
    await operator.goto('')
    await login(operator.page, OPERATOR_TOKEN)
    const opened = browser
    return {
      fleet,
      browser: opened,
      operator,
      processes,
      close: async () => {
        await opened.close()
        await fleet.close()
      },
    }
  } catch (err) {
    await browser?.close()
    await fleet.close()
    throw err
  }
}

/** The admin API as the test's own client (checks and setup the UI is not under test for). */
export async function api<T>(fleet: TestFleet, method: string, url: string, body?: unknown, token = OPERATOR_TOKEN): Promise<T> {
  const res = await fetch(`${fleet.captureUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`)
  return JSON.parse(text) as T
}

export interface ConfigView {
  id: number
  team_id: number
  plugin_id: number
  plugin_name: string
  enabled: boolean
  order: number
  config: Record<string, string>
  secret_fields: Record<string, 'set' | 'not set'>
}

export const listConfigs = (fleet: TestFleet, teamId = fleet.team.id): Promise<ConfigView[]> => api(fleet, 'GET', `/api/teams/${teamId}/configs`)

/**
 * Packs a copy of a fixture plugin the way plugins are published: one top folder in a .tar.gz
 * or .zip. `change` edits the copy first (a new version of the same plugin).
 */
export function packPlugin(fixture: string, kind: 'zip' | 'tar.gz', change?: (dir: string) => void): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-ui-pack-'))
  const dir = path.join(work, fixture)
  fs.cpSync(path.join(FIXTURES, fixture), dir, { recursive: true })
  change?.(dir)
  const archive = path.join(work, `${fixture}.${kind}`)
  if (kind === 'zip') fs.writeFileSync(archive, zipFolder(dir))
  else execFileSync('tar', ['-czf', archive, '-C', work, fixture])
  return archive
}

/** A file the test hands to a file input. */
export function tempFile(name: string, contents: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-ui-file-')), name)
  fs.writeFileSync(file, contents)
  return file
}

export interface SentEvent {
  uuid: string
  event: string
  distinctId: string
  properties?: Record<string, unknown>
}

/** Sends events through the real posthog-node client, flushed and shut down before returning. */
export async function sendEvents(fleet: TestFleet, events: SentEvent[]): Promise<void> {
  const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 20, flushInterval: 10, fetchRetryCount: 3, fetchRetryDelay: 100 })
  for (const e of events) client.capture({ uuid: e.uuid, event: e.event, distinctId: e.distinctId, properties: e.properties })
  await client.shutdown()
}

export function makeEvents(count: number, properties: Record<string, unknown> = {}, distinctId = 'user-1'): SentEvent[] {
  return Array.from({ length: count }, (_, i) => ({ uuid: crypto.randomUUID(), event: `ui test ${i}`, distinctId, properties: { seq: i, ...properties } }))
}

/** Stored properties of events, by the uuids the test sent. */
export async function storedProperties(fleet: TestFleet, uuids: string[]): Promise<Record<string, unknown>[]> {
  const { rows } = await fleet.db.pool.query<{ properties: Record<string, unknown> }>('SELECT properties FROM events WHERE uuid = ANY($1::uuid[])', [uuids])
  return rows.map((r) => r.properties)
}

/** The part of a DOM element tests read in the page (the test project compiles without the DOM library). */
export interface ElementData {
  tagName: string
  dataset: Record<string, string | undefined>
  textContent: string | null
}

/** The last number in a text ("Events seen 1,204" → 1204); NaN when there is none. */
export function lastNumber(text: string | null): number {
  const numbers = (text ?? '').replace(/(\d),(\d)/g, '$1$2').match(/-?\d+(\.\d+)?/g)
  return numbers ? Number(numbers[numbers.length - 1]) : NaN
}

/** Waits until a locator's text satisfies `ok`; says what it last saw. */
export async function waitForText(locator: Locator, ok: (text: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  let problem = ''
  for (;;) {
    last = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).then(
      (text) => text ?? '',
      (err: Error) => ((problem = err.message.split('\n')[0]), ''),
    )
    if (ok(last)) return last
    if (Date.now() > deadline) throw new Error(`${what}: text still ${JSON.stringify(last.slice(0, 500))} after ${timeoutMs} ms ${problem}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Uploads an archive on the plugins page and waits for the install's result line. */
export async function uploadPlugin(page: Page, session: BrowserSession, archive: string): Promise<string> {
  await session.goto('#/plugins')
  const result = page.getByTestId('plugin-upload-result')
  const before = (await result.count()) > 0 ? await result.textContent() : null
  await page.getByTestId('plugin-upload').setInputFiles(archive)
  return waitForText(result, (t) => t !== '' && t !== before && /installed|updated|unchanged/i.test(t), `upload of ${path.basename(archive)}`)
}

export interface FormValues {
  /** Text inputs and selects, by field key. */
  values?: Record<string, string>
  /** Attachment file inputs, by field key. */
  files?: Record<string, string>
}

/** Fills config form fields by key: a select gets its option, a file input its file, anything else the text. */
export async function fillConfigForm(page: Page, form: FormValues): Promise<void> {
  for (const [key, value] of Object.entries(form.values ?? {})) {
    const field = page.getByTestId(`field-${key}`)
    if ((await field.evaluate((el: ElementData) => el.tagName)) === 'SELECT') await field.selectOption(value)
    else await field.fill(value)
  }
  for (const [key, file] of Object.entries(form.files ?? {})) await page.getByTestId(`field-${key}`).setInputFiles(file)
}

/** Opens the plugin's detail page from the plugins list. */
export async function openPlugin(page: Page, session: BrowserSession, pluginName: string): Promise<void> {
  await session.goto('#/plugins')
  await page.getByTestId(`plugin-row-${pluginName}`).getByRole('link').first().click()
  await page.getByTestId('plugin-detail-name').waitFor()
}

/** Creates a config of the current team through the plugin's "configure" form (enabled unless said otherwise); resolves to its id. */
export async function configureThroughUi(
  page: Page,
  session: BrowserSession,
  fleet: TestFleet,
  pluginName: string,
  form: FormValues & { enabled?: boolean },
): Promise<number> {
  const before = new Set((await listConfigs(fleet)).map((c) => c.id))
  const enabled = form.enabled ?? true
  await openPlugin(page, session, pluginName)
  await page.getByTestId('plugin-configure').click()
  await fillConfigForm(page, form)
  await page.getByTestId('config-enabled').setChecked(enabled)
  await page.getByTestId('config-save').click()
  await page.getByTestId('config-saved').waitFor()
  const [created] = await until(
    `a new config of ${pluginName}`,
    async () => (await listConfigs(fleet)).filter((c) => !before.has(c.id) && c.plugin_name === pluginName),
    (found) => found.length === 1,
  )
  assert.equal(created.enabled, enabled, `the config of ${pluginName} is ${enabled ? 'enabled' : 'disabled'} as the form said`)
  return created.id
}

/** Opens a config's detail page from the configs list, on one of its tabs. */
export async function openConfig(
  page: Page,
  session: BrowserSession,
  configId: number,
  tab?: 'settings' | 'status' | 'logs' | 'jobs' | 'exports',
): Promise<void> {
  await session.goto('#/configs')
  await page.getByTestId(`config-open-${configId}`).click()
  if (tab) await page.getByTestId(`tab-${tab}`).click()
}
