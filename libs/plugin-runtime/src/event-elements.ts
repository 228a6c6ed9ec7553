/** PostHog's Element, the shape of ProcessedPluginEvent.elements (posthog-js's `$elements` converted). */
export interface Element {
  text?: string
  tag_name?: string
  href?: string
  attr_class?: string[]
  attr_id?: string
  nth_child?: number
  nth_of_type?: number
  attributes?: Record<string, unknown>
  order?: number
}

/** PostHog keeps at most this much of an element's text and href. */
const TEXT_MAX = 400
const HREF_MAX = 2048

/**
 * posthog-js's `$elements` (`$el_text`, `tag_name`, `attr__*`, `nth_child`, `nth_of_type`, …) as
 * PostHog's plugin server gives them to plugins (its extractElements): text and href cut as PostHog
 * cuts them, the class split on spaces (or kept as given when a list), every `attr__*` under
 * `attributes`, and each element's place in the list as `order`. Entries that are not objects are left out.
 */
export function extractElements(raw: readonly unknown[]): Element[] {
  return raw.filter(isObject).map((el, order) => {
    const element: Element = {
      text: stringOf(el.$el_text)?.slice(0, TEXT_MAX),
      tag_name: stringOf(el.tag_name),
      href: stringOf(el.attr__href)?.slice(0, HREF_MAX),
      attr_class: classesOf(el.attr__class),
      attr_id: stringOf(el.attr__id),
      nth_child: numberOf(el.nth_child),
      nth_of_type: numberOf(el.nth_of_type),
      attributes: Object.fromEntries(Object.entries(el).filter(([key]) => key.startsWith('attr__'))),
      order,
    }
    // Unset members are left out, as they are once PostHog's event is serialized.
    return Object.fromEntries(Object.entries(element).filter(([, value]) => value !== undefined)) as Element
  })
}

function classesOf(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String)
  return typeof value === 'string' && value !== '' ? value.split(' ') : undefined
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
