import type { NewAttachment } from '../api/types'

/** Base64 of a file, for JSON bodies (attachments of a new config). */
export async function fileToBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let binary = ''
  // In slices: String.fromCharCode with a whole large file as arguments overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/** Chosen files as JSON bodies carry them (a new config's attachments, a Try it run's), by field key. */
export async function asNewAttachments(files: Record<string, File>): Promise<Record<string, NewAttachment>> {
  const entries = await Promise.all(
    Object.entries(files).map(async ([key, file]) => {
      const attachment: NewAttachment = {
        file_name: file.name,
        content_type: file.type || 'application/octet-stream',
        contents_base64: await fileToBase64(file),
      }
      return [key, attachment] as const
    }),
  )
  return Object.fromEntries(entries)
}

/** The Content-Type POST /api/plugins expects for an archive, from its file name; null when it is neither kind. */
export function archiveContentType(file: File): string | null {
  const name = file.name.toLowerCase()
  if (name.endsWith('.zip')) return 'application/zip'
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'application/gzip'
  return null
}
