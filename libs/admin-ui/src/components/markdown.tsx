import { markdownToHtml } from '../lib/markdown'

interface Props {
  text: string
  testid?: string
  class?: string
}

/** plugin.json Markdown (hints, text blocks), sanitized by markdownToHtml before it is inserted. */
export function Markdown({ text, testid, class: className }: Props) {
  return <div class={`markdown ${className ?? ''}`} data-testid={testid} dangerouslySetInnerHTML={{ __html: markdownToHtml(text) }} />
}
