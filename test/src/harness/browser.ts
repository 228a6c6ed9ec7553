import fs from 'node:fs'
import path from 'node:path'
import { Browser, BrowserContext, chromium, Page } from 'playwright-core'
import { REPO_ROOT } from './processes'

export const SCREENSHOTS = path.join(REPO_ROOT, 'test-output/screenshots')

// Headless in a container without a GPU or a user namespace; nothing phones home during a test.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium'
}

/**
 * Debian's Chromium, never a downloaded one. Playwright gives the browser a fresh temporary
 * user-data-dir and removes it on close; contexts are isolated from each other on top of that.
 * A missing browser fails the test: the UI must not go untested because a machine lacks it.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath()
  if (!fs.existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: run scripts/install-system-deps.sh (installs Debian's chromium) or set CHROMIUM_PATH`)
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, chromiumSandbox: false })
}

export interface ApiResponse {
  method: string
  url: string
  status: number
  body: string
}

/** A problem the page ran into that no test asked for: the test fails on it and says what it was. */
interface Allowed {
  status: number
  url: RegExp
}

/**
 * One logged-in user: a browser context of its own with a page, every /api response the page
 * received (bodies included, to search for secrets), and the problems it met: console errors,
 * uncaught exceptions, /api requests that failed or answered >= 400 without the test expecting it.
 */
export class BrowserSession {
  readonly responses: ApiResponse[] = []
  private readonly problems: string[] = []
  private readonly allowed: Allowed[] = []
  private readonly reading = new Set<Promise<void>>()

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly baseUrl: string,
  ) {
    page.on('pageerror', (err) => this.problems.push(`uncaught in the page: ${err.stack ?? err.message}`))
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      // The browser reports every 4xx/5xx resource on the console too: /api ones are judged below.
      if (/^Failed to load resource/.test(msg.text()) && msg.location().url.includes('/api/')) return
      this.problems.push(`console error: ${msg.text()} (${msg.location().url})`)
    })
    page.on('requestfailed', (req) => {
      // The UI aborts polls it no longer needs (a tab closed, a filter changed): not a failure.
      if (req.failure()?.errorText === 'net::ERR_ABORTED') return
      this.problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`)
    })
    page.on('response', (res) => {
      const url = res.url()
      if (!new URL(url).pathname.startsWith('/api/')) return
      const method = res.request().method()
      const status = res.status()
      if (status >= 400 && !this.allowed.some((a) => a.status === status && a.url.test(url))) {
        this.problems.push(`unexpected ${status} from ${method} ${url}`)
      }
      const read = res
        .text()
        .then((body) => void this.responses.push({ method, url, status, body }))
        .catch(() => void this.responses.push({ method, url, status, body: '' }))
        .finally(() => this.reading.delete(read))
      this.reading.add(read)
    })
  }

  static async open(browser: Browser, baseUrl: string): Promise<BrowserSession> {
    // UTC so date inputs mean the same instant to the test and the page.
    const context = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1280, height: 900 } })
    context.setDefaultTimeout(15_000)
    return new BrowserSession(context, await context.newPage(), baseUrl)
  }

  /** Lets one error answer through (a wrong token, a validation error the test provokes). */
  allow(status: number, url: RegExp): void {
    this.allowed.push({ status, url })
  }

  /** Every /api response received so far, bodies read. */
  async apiResponses(): Promise<ApiResponse[]> {
    await Promise.all([...this.reading])
    return this.responses
  }

  /** Throws listing what went wrong in the page since the last check (each test's afterEach). */
  assertNoProblems(): void {
    const problems = this.problems.splice(0)
    this.allowed.splice(0)
    if (problems.length > 0) throw new Error(`the page ran into ${problems.length} problem(s):\n  ${problems.join('\n  ')}`)
  }

  async goto(route: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}/admin/${route}`)
  }

  /**
   * Problems no check took (a test that failed before its assertNoProblems) are printed with where
   * the page was, so a timeout in CI says what the page met on the way (a refused token, a 500).
   */
  async close(): Promise<void> {
    if (this.problems.length > 0 && !this.page.isClosed()) {
      process.stderr.write(`browser session closed at ${this.page.url()} with ${this.problems.length} unchecked problem(s):\n  ${this.problems.join('\n  ')}\n`)
    }
    await this.context.close()
  }
}

/** Logs in through the form and waits for the signed-in header. */
export async function login(page: Page, token: string): Promise<void> {
  await page.getByTestId('login-token').fill(token)
  await page.getByTestId('login-submit').click()
  await page.getByTestId('logout').waitFor()
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  const file = path.join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}
