import type { ConfigField } from '../../api/types'
import { Badge } from '../../components/badge'
import { Markdown } from '../../components/markdown'

/** plugin.json `config` as documentation: every field, and the text blocks in their place. */
export function ConfigSchemaTable({ schema }: { schema: ConfigField[] }) {
  if (schema.length === 0) return <p class="empty">This plugin takes no settings.</p>
  return (
    <table class="table" data-testid="plugin-config-schema">
      <thead>
        <tr>
          <th>Key</th>
          <th>Name</th>
          <th>Type</th>
          <th>Default</th>
          <th>Flags</th>
          <th>Hint</th>
        </tr>
      </thead>
      <tbody>
        {schema.map((field, i) =>
          field.key === undefined ? (
            <tr key={`markdown-${i}`}>
              <td colSpan={6}>
                <Markdown text={field.markdown ?? ''} />
              </td>
            </tr>
          ) : (
            <tr key={field.key}>
              <td>
                <code>{field.key}</code>
              </td>
              <td>{field.name ?? ''}</td>
              <td>
                {field.type ?? 'string'}
                {field.choices && <span class="muted"> ({field.choices.join(', ')})</span>}
              </td>
              <td>{field.default !== undefined && <code>{String(field.default)}</code>}</td>
              <td>
                <span class="flags">
                  {field.required && <Badge tone="warn">required</Badge>}
                  {field.secret && <Badge tone="info">secret</Badge>}
                </span>
              </td>
              <td>{field.hint && <Markdown text={field.hint} />}</td>
            </tr>
          ),
        )}
      </tbody>
    </table>
  )
}
