import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'

import { CaptureError, CaptureLimits, CaptureRequest, parseCaptureRequest, ParsedCapture } from '@plugin-server/capture-lib'

export const NOW = new Date('2024-05-01T12:00:00.000Z')
export const LIMITS: CaptureLimits = { maxBodyBytes: 64 * 1024 }
export const TOKEN = 'phc_test_token'

/** Build a CaptureRequest the way the HTTP server would, with sane defaults. */
export function request(overrides: Partial<CaptureRequest> & { url?: string } = {}): CaptureRequest {
  const url = new URL(overrides.url ?? '/i/v0/e/', 'http://capture.local')
  return {
    method: overrides.method ?? 'POST',
    path: overrides.path ?? url.pathname,
    query: overrides.query ?? url.searchParams,
    rawQuery: overrides.rawQuery ?? url.search.slice(1),
    headers: overrides.headers ?? { 'content-type': 'application/json' },
    body: overrides.body ?? Buffer.alloc(0),
    ip: overrides.ip === undefined ? '203.0.113.7' : overrides.ip,
    now: overrides.now ?? NOW,
  }
}

export function jsonRequest(payload: unknown, overrides: Partial<CaptureRequest> & { url?: string } = {}): CaptureRequest {
  return request({ body: Buffer.from(JSON.stringify(payload)), ...overrides })
}

export function gzipJson(payload: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(payload)))
}

export function parse(req: CaptureRequest, limits = LIMITS): ParsedCapture {
  return parseCaptureRequest(req, limits)
}

/** Assert that parsing fails with this status, code and (substring of) message; returns the error. */
export function assertRejects(req: CaptureRequest, status: number, code: string, message: string | RegExp, limits = LIMITS): CaptureError {
  let caught: unknown
  try {
    parseCaptureRequest(req, limits)
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof CaptureError, `expected a CaptureError, got ${String(caught)}`)
  assert.equal(caught.status, status, caught.message)
  assert.equal(caught.code, code)
  if (typeof message === 'string') assert.ok(caught.message.includes(message), `message "${caught.message}" lacks "${message}"`)
  else assert.match(caught.message, message)
  const body = caught.toBody()
  assert.equal(body.detail, caught.message)
  assert.equal(body.code, code)
  // The body must survive JSON round-trip (the server sends it as-is).
  assert.deepEqual(JSON.parse(JSON.stringify(body)), body)
  return caught
}

export const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
