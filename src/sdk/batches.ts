import { EaselError } from './errors.js';
import { cursorPages, pageQuery } from './pages.js';
import type { BatchItem, BatchItemList, BatchItemQuery, BatchOptions } from './types.js';

/** What the JSONL file of a multipart batch may be: its text, its bytes, or a Blob. */
export type JsonlSource = string | Uint8Array | Blob;

/** Fields a multipart batch sends as JSON text (the server parses them back). */
const JSON_FIELDS = new Set(['defaults', 'metadata', 'webhook_events']);

/**
 * The multipart body of `POST /v1/batches`: the items as the file `items` (one create body a line),
 * every other field as text, objects and arrays as JSON text, numbers as digits.
 */
export function batchForm(jsonl: JsonlSource, options: BatchOptions): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || v === null) continue;
    form.append(k, JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v));
  }
  const blob = jsonl instanceof Blob ? jsonl : new Blob([typeof jsonl === 'string' ? jsonl : (jsonl as Uint8Array<ArrayBuffer>)], { type: 'application/x-ndjson' });
  form.append('items', blob, 'items.jsonl');
  return form;
}

/** `results.jsonl` → its items; a line that is not a JSON object means the answer was not one. */
export function parseBatchResults(text: string): BatchItem[] {
  const out: BatchItem[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new EaselError('invalid_response', `results.jsonl line ${n + 1} is not JSON.`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new EaselError('invalid_response', `results.jsonl line ${n + 1} is not an item.`);
    out.push(v as BatchItem);
  }
  return out;
}

/** The query string of an items page: a status list becomes one comma list. */
export function itemQuery(q: BatchItemQuery): Record<string, string | number | undefined> {
  return { status: Array.isArray(q.status) ? q.status.join(',') : q.status, limit: q.limit, offset: q.offset, starting_after: q.starting_after };
}

/** What paging needs from a client (the Easel class has it), named here so client.ts → batches.ts stays one-way. */
export interface BatchItemLister {
  listBatchItems(id: string, query?: BatchItemQuery, o?: { signal?: AbortSignal }): Promise<BatchItemList>;
}

/**
 * Every page of a batch's items from `query.offset` (or `query.starting_after`) on, `query.limit`
 * a page (default 500, the most the server gives), following each page's cursor. The cursor is an
 * item index, so with a status filter an item that changes state between two pages is neither
 * read twice nor skipped because another moved (it is listed if it matches when its page is read).
 */
export function batchItemPages(client: BatchItemLister, id: string, query: BatchItemQuery = {}, o: { signal?: AbortSignal } = {}): AsyncGenerator<BatchItemList> {
  const first = { ...query, limit: query.limit ?? 500 };
  return cursorPages((cursor) => client.listBatchItems(id, pageQuery(first, cursor), o));
}
