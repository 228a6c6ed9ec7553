export type ErrorCode =
  | 'validation_error'
  | 'invalid_plugin'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'admin_api_disabled'
  | 'unavailable'
  | 'too_many_requests'
  | 'internal_error'

/** Every 4xx/5xx answer. `field` names the offending input (`config.apiKey`, `payload.limit`, …) so a form can show the message next to it. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string }
}
