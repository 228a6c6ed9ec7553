import type { ApiError } from '../api/client'

interface Props {
  error: ApiError | string | null | undefined
  testid?: string
}

export function ErrorMessage({ error, testid }: Props) {
  if (!error) return null
  return (
    <p class="message message-error" role="alert" data-testid={testid}>
      {typeof error === 'string' ? error : error.message}
    </p>
  )
}
