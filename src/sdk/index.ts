/**
 * easel/sdk: a typed client for the Easel `/v1` API.
 *
 *   import { Easel } from 'easel/sdk';
 *   const easel = new Easel({ apiKey: process.env.EASEL_API_KEY, baseUrl: 'http://127.0.0.1:8080' });
 *   const image = await easel.generateImage({ prompt: 'a lighthouse at dusk', aspect_ratio: '16:9' });
 *   await easel.downloadAll(image, './out', { formats: 'png' });
 */
export { Easel, DEFAULT_BASE_URL, SDK_VERSION, parseRetryAfter, type EaselOptions, type RequestOptions, type CreateOptions, type RetryInfo, type UploadOptions } from './client.js';
export { EaselError, EaselApiError, EaselConnectionError, EaselTimeoutError, EaselJobFailedError, EaselAbortError } from './errors.js';
export { ENDPOINTS, OTHER_PROTOCOL_PATHS, coversOperation, endpointPath, type EndpointName } from './endpoints.js';
export { SseParser, type SseEvent } from './sse.js';
export type { WaitOptions } from './wait.js';
export { slug, type DownloadOptions, type DownloadedFile } from './download.js';
export { parseBatchResults, type JsonlSource } from './batches.js';
export * from './types.js';
export { shortId } from './short-id.js';
