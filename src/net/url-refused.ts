/**
 * Why a client-supplied URL was not fetched. Callers map `reason` onto their own error codes;
 * `message` is safe to show to the client: it never names a resolved address, so the guard cannot
 * be used as an oracle for what our internal DNS knows.
 */
export type RefusalReason =
  | 'bad_url'
  | 'scheme'
  | 'credentials'
  | 'private_address'
  | 'dns_failed'
  | 'too_many_redirects'
  | 'too_large'
  | 'timeout'
  | 'http_status'
  | 'not_an_image'
  // Connection reset, TLS failure, refused connection: the address was allowed but the fetch failed.
  | 'fetch_failed';

export class UrlRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UrlRefused';
  }
}
