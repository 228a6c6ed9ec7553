import { AttachmentInput, ManagementError } from './interfaces'

function invalid(field: string, problem: string): ManagementError {
  return new ManagementError('validation_error', `${field} ${problem}`, field)
}

/**
 * Attachments as JSON bodies give them, `{ key: { file_name, content_type?, contents_base64 } }`:
 * one parser for every request that carries files (POST/PATCH configs, Try it), so they agree on the
 * shape and on the field names of their errors. Whether each key is an attachment field of the
 * plugin is checked later, against its plugin.json.
 */
export function parseAttachmentInputs(value: unknown, field = 'attachments'): AttachmentInput[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, 'must be an object of field key to { file_name, content_type, contents_base64 }')
  return Object.entries(value as Record<string, unknown>).map(([key, raw]) => {
    const at = `${field}.${key}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(at, 'must be an object { file_name, content_type, contents_base64 }')
    const a = raw as Record<string, unknown>
    if (typeof a.file_name !== 'string' || a.file_name === '') throw invalid(`${at}.file_name`, 'is required')
    if (a.content_type !== undefined && typeof a.content_type !== 'string') throw invalid(`${at}.content_type`, 'must be a string')
    if (typeof a.contents_base64 !== 'string') throw invalid(`${at}.contents_base64`, 'is required (base64 of the file)')
    return {
      key,
      file_name: a.file_name,
      content_type: (a.content_type as string | undefined) ?? 'application/octet-stream',
      contents: Buffer.from(a.contents_base64, 'base64'),
    }
  })
}
