import type { JobStatus } from '../types';

export function Status({ status }: { status: JobStatus | 'canceled' }) {
  return <span class={`status status-${status}`}>{status}</span>;
}
