import { useMemo } from 'preact/hooks'
import { markdownToHtml } from '../lib/markdown'

interface Props {
  text: string
  testid?: string
  class?: string
  /** For an input's aria-describedby. */
  id?: string
}

/** plugin.json Markdown (hints, text blocks), sanitized by markdownToHtml before it is inserted. */
export function Markdown({ text, testid, class: className, id }: Props) {
  // Parsed once per text, not on every render of the page around it.
  const html = useMemo(() => markdownToHtml(text), [text])
  return <div id={id} class={`markdown ${className ?? ''}`} data-testid={testid} dangerouslySetInnerHTML={{ __html: html }} />
}
