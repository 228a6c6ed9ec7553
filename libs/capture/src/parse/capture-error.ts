/**
 * The one error type the parser throws. It carries the HTTP status and a stable machine-readable
 * code so the server can answer without inspecting messages, and clients (and tests) get a detail
 * that names the offending field or event index.
 */
export type CaptureErrorCode =
  | 'no_data'
  | 'payload_too_large'
  | 'unsupported_content_encoding'
  | 'unsupported_compression'
  | 'invalid_payload'
  | 'invalid_json'
  | 'invalid_utf8'
  | 'too_deep'
  | 'event_too_large'
  | 'rate_limited'
  | 'empty_batch'
  | 'invalid_event'
  | 'missing_event_name'
  | 'missing_distinct_id'
  | 'invalid_uuid'
  | 'duplicate_uuid'
  | 'missing_token'
  | 'invalid_token'
  | 'multiple_tokens'
  | 'overloaded'
  | 'request_timeout'
  | 'invalid_request'

/** JSON body for the error response; the shape follows PostHog's `{type, code, detail, attr}`. */
export interface CaptureErrorBody {
  type: 'validation_error' | 'authentication_error' | 'server_error'
  code: CaptureErrorCode
  detail: string
  /** The field the error is about, when there is one (e.g. `distinct_id`). */
  attr: string | null
}

export class CaptureError extends Error {
  constructor(
    readonly status: number,
    readonly code: CaptureErrorCode,
    message: string,
    readonly attr: string | null = null,
  ) {
    super(message)
    this.name = 'CaptureError'
  }

  toBody(): CaptureErrorBody {
    return {
      type: this.status === 401 ? 'authentication_error' : this.status >= 500 ? 'server_error' : 'validation_error',
      code: this.code,
      detail: this.message,
      attr: this.attr,
    }
  }
}

export function isCaptureError(err: unknown): err is CaptureError {
  return err instanceof CaptureError
}
