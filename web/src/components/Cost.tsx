import { eur } from '../format';
import type { Job } from '../types';

/** Held / charged / refunded from the job's cost block (issue 7), else the result's cost_eur. */
export function Cost({ job }: { job: Job }) {
  const resultCost = (job.result as { cost_eur?: string } | undefined)?.cost_eur;
  if (!job.cost && !resultCost) return null;
  return (
    <section aria-labelledby="cost-h">
      <h2 id="cost-h">Cost</h2>
      <dl class="stats">
        {job.cost ? (
          <>
            <div>
              <dt>Held</dt>
              <dd data-testid="cost-held">{eur(job.cost.held_eur)}</dd>
            </div>
            <div>
              <dt>Charged</dt>
              <dd data-testid="cost-charged">{eur(job.cost.charged_eur)}</dd>
            </div>
            <div>
              <dt>Refunded</dt>
              <dd data-testid="cost-refunded">{eur(job.cost.refunded_eur)}</dd>
            </div>
          </>
        ) : (
          <div>
            <dt>Charged</dt>
            <dd data-testid="cost-charged">{eur(resultCost)}</dd>
          </div>
        )}
        {job.max_cost_eur ? (
          <div>
            <dt>Cost limit</dt>
            <dd>{eur(job.max_cost_eur)}</dd>
          </div>
        ) : null}
      </dl>
    </section>
  );
}
