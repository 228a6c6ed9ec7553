import DOMPurify from 'dompurify'
import { marked } from 'marked'

// plugin.json text comes from whoever wrote the plugin: sanitized before it reaches the page, and
// links open in a new tab without access to this one.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer')
  }
})

/**
 * Controls and forms would let a plugin's text pass for the UI itself (a "sign in again" form
 * posting the typed token elsewhere), and style could restyle the page around it: Markdown never
 * needs them.
 */
const FORBID_TAGS = ['form', 'input', 'button', 'select', 'textarea', 'style']

export function markdownToHtml(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }), { FORBID_TAGS })
}
