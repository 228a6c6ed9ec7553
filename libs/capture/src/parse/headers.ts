import { CaptureRequest } from './interfaces'

/** First value of a header, lower-cased name lookup; Node gives arrays only for repeated headers. */
export function headerValue(headers: CaptureRequest['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}
