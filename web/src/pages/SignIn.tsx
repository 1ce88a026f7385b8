import { useState } from 'preact/hooks';
import { get, ApiError } from '../api';
import { setKey } from '../session';
import { ErrorBox } from '../components/ErrorBox';
import type { Profile } from '../types';

/** Sign in with an API key: checked against GET /v1/account/profile before it is kept (sessionStorage). */
export function SignIn({ onSignedIn, notice }: { onSignedIn: () => void; notice?: string | null }) {
  const [key, setValue] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) {
      setError(new Error('Enter an API key.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await get<Profile>('/v1/account/profile', { key: k });
      setKey(k);
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new ApiError(401, err.code, err.message, err.requestId) : (err as Error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <h1>Easel dashboard</h1>
      <p>Sign in with an API key (<code>esl_…</code>). It is kept in this browser tab only and forgotten when the tab closes.</p>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} class="stack" aria-describedby="signin-help">
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} value={key} onInput={(e) => setValue((e.target as HTMLInputElement).value)} required />
        <p id="signin-help" class="muted">
          No key yet? The operator creates one with <code>npx easel keys create --name NAME</code>.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}
