import { prettyJson } from '../lib/format'

export function JsonBlock({ value, testid }: { value: unknown; testid?: string }) {
  return (
    <pre class="json" data-testid={testid}>
      {prettyJson(value)}
    </pre>
  )
}
