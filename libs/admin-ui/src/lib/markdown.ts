import DOMPurify from 'dompurify'
import { marked } from 'marked'

// plugin.json text comes from whoever wrote the plugin: sanitized before it reaches the page, and
// links open in a new tab without access to this one.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // Every element with a link, by its lower-case name: an SVG <a>'s tagName is 'a', and it had opened
  // the plugin author's page in the admin tab itself from a drawn "Save" button.
  if (node.nodeName.toLowerCase() === 'a' || node.hasAttribute('href')) {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer')
  }
})

/**
 * Controls and forms would let a plugin's text pass for the UI itself (a "sign in again" form
 * posting the typed token elsewhere), style could restyle the page around it, and SVG or an image
 * map could draw a button or a page-wide area linking anywhere: Markdown never needs them.
 */
const FORBID_TAGS = ['form', 'input', 'button', 'select', 'textarea', 'style', 'svg', 'math', 'map', 'area']

export function markdownToHtml(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }), { FORBID_TAGS })
}
