import { get } from '../api';
import { useAsync } from '../use-async';
import { useRefreshWhileRunning } from '../use-live-job';
import { eur, thisMonthUtc } from '../format';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { JobCard } from '../components/JobCard';
import type { JobList, Profile } from '../types';

/** Balance, held amount, this month's spend by operation, and the jobs running now. */
export function Overview() {
  const profile = useAsync((signal) => get<Profile>('/v1/account/profile', { signal }), []);
  const running = useAsync((signal) => get<JobList>('/v1/jobs?status=pending,processing&limit=20', { signal }), []);
  useRefreshWhileRunning(running.data?.generations, running.reload);
  const live = running.data?.generations ?? [];
  const u = profile.data?.user;
  const month = u?.usage.by_month.find((m) => m.month === thisMonthUtc());

  return (
    <>
      <PageTitle>Overview</PageTitle>
      <ErrorBox error={profile.error} />
      {u ? (
        <section aria-labelledby="money-h">
          <h2 id="money-h">Credits</h2>
          <dl class="stats">
            <div>
              <dt>Balance</dt>
              <dd data-testid="balance">{eur(u.balance_eur)}</dd>
            </div>
            <div>
              <dt>Held for running jobs</dt>
              <dd data-testid="held">{eur(u.held_eur)}</dd>
            </div>
            <div>
              <dt>Spent this month ({thisMonthUtc()}, UTC)</dt>
              <dd>{eur(month?.charged_eur ?? '0.000000')}</dd>
            </div>
          </dl>
        </section>
      ) : profile.loading ? (
        <p aria-busy="true">Loading…</p>
      ) : null}
      {u ? (
        <section aria-labelledby="spend-h">
          <h2 id="spend-h">Spend this month by operation</h2>
          {month && month.by_operation.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Operation</th>
                  <th scope="col">Jobs</th>
                  <th scope="col">Completed</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Charged</th>
                </tr>
              </thead>
              <tbody>
                {month.by_operation.map((o) => (
                  <tr key={o.operation}>
                    <th scope="row">{o.operation}</th>
                    <td>{o.jobs}</td>
                    <td>{o.completed}</td>
                    <td>{o.failed}</td>
                    <td>{eur(o.charged_eur)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">Nothing spent this month yet.</p>
          )}
        </section>
      ) : null}
      <section aria-labelledby="running-h">
        <h2 id="running-h">Running now</h2>
        <ErrorBox error={running.error} />
        {live.length ? (
          <ul class="cards">
            {live.map((j) => (
              <JobCard key={j.job_id} job={j} />
            ))}
          </ul>
        ) : !running.data ? null : (
          <p class="muted">No job is pending or running.</p>
        )}
      </section>
    </>
  );
}
