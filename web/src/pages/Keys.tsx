import { useState } from 'preact/hooks';
import { del, get, post } from '../api';
import { useAsync } from '../use-async';
import { when } from '../format';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import type { ApiKey, CreatedKey } from '../types';

/** The account's keys: create (the secret is shown once), revoke (with an inline confirmation, no dialog). */
export function Keys() {
  const list = useAsync((signal) => get<{ keys: ApiKey[] }>('/v1/keys', { signal }), []);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'generate' | 'admin'>('generate');
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const k = await post<CreatedKey>('/v1/keys', name.trim() ? { name: name.trim(), scope } : { scope });
      setCreated(k);
      setCopied(false);
      setName('');
      list.reload();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (k: ApiKey) => {
    setBusy(true);
    setError(null);
    try {
      await del<ApiKey>(`/v1/keys/${encodeURIComponent(k.id)}`);
      setConfirming(null);
      list.reload();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  return (
    <>
      <PageTitle>API keys</PageTitle>
      <form onSubmit={create} class="inline-form" aria-label="Create a key">
        <div class="field">
          <label for="key-name">New key name (optional)</label>
          <input id="key-name" value={name} maxLength={64} pattern="[A-Za-z0-9][A-Za-z0-9 ._:@\-]*" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="key-scope">Scope</label>
          <select id="key-scope" value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value as 'generate' | 'admin')}>
            <option value="generate">generate: create and read jobs</option>
            <option value="admin">admin: also manage keys and settings</option>
          </select>
        </div>
        <button type="submit" disabled={busy}>
          Create key
        </button>
      </form>
      {created ? (
        <section class="secret" aria-labelledby="secret-h" role="status">
          <h2 id="secret-h">Key “{created.name}” created</h2>
          <p>Copy it now: it is shown this once and cannot be shown again.</p>
          <p>
            <code data-testid="new-key" class="secret-value">
              {created.key}
            </code>
          </p>
          <div class="actions">
            <button type="button" class="secondary" onClick={copy}>
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              I have stored it
            </button>
          </div>
        </section>
      ) : null}
      <ErrorBox error={error ?? list.error} />
      <table class="keys">
        <caption class="visually-hidden">Your API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scope</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.keys ?? []).map((k) => (
            <tr key={k.id} data-key-id={k.id} data-key-name={k.name}>
              <th scope="row" data-label="Name">
                {k.name}
                {k.current ? <span class="badge"> this session</span> : null}
              </th>
              <td data-label="Scope">{k.scope}</td>
              <td data-label="Prefix">
                <code>{k.prefix}…</code>
              </td>
              <td data-label="Created">{when(k.created_at)}</td>
              <td data-label="Last used">{when(k.last_used_at)}</td>
              <td data-label="State">{k.revoked_at ? `revoked ${when(k.revoked_at)}` : 'active'}</td>
              <td>
                {k.revoked_at ? null : confirming === k.id ? (
                  <span class="actions">
                    <button type="button" class="danger" disabled={busy} onClick={() => revoke(k)}>
                      Confirm revoke {k.name}
                    </button>
                    <button type="button" class="secondary" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </span>
                ) : (
                  <button type="button" class="secondary" onClick={() => setConfirming(k.id)}>
                    Revoke {k.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
