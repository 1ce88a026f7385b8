import { ApiError } from '../api';

/** An API error with its code and request id (what a support request needs). Text only. */
export function ErrorBox({ error }: { error: Error | null | undefined }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="error" role="alert">
      <strong>{api ? `${api.code}` : 'Error'}</strong>
      {': '}
      {error.message}
      {api?.requestId ? <span class="muted"> (request {api.requestId})</span> : null}
    </div>
  );
}
