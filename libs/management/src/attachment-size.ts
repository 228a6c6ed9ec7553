import { AttachmentInput, ManagementContext, ManagementError } from './interfaces'
import { unstorableText } from './storable-text'

/** PLUGIN_ATTACHMENT_MAX_BYTES when the context does not say (the same default as the config). */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

/**
 * Attachments are copied into every isolate of their config and held in worker memory: each is
 * checked against the limit before anything is written, and the error names the field. Its file
 * name and content type must be text Postgres can store (see unstorableText).
 */
export function assertAttachmentInputs(ctx: ManagementContext, attachments: readonly AttachmentInput[]): void {
  const max = ctx.attachmentMaxBytes ?? DEFAULT_ATTACHMENT_MAX_BYTES
  for (const a of attachments) {
    for (const name of ['file_name', 'content_type'] as const) {
      const problem = unstorableText(a[name])
      if (problem) throw new ManagementError('validation_error', `attachments.${a.key}.${name} ${problem}`, `attachments.${a.key}.${name}`)
    }
    if (a.contents.length > max) {
      const field = `attachments.${a.key}`
      throw new ManagementError(
        'validation_error',
        `${field} is ${a.contents.length} bytes, over the limit of ${max} bytes (PLUGIN_ATTACHMENT_MAX_BYTES)`,
        field,
      )
    }
  }
}
