/**
 * Estimates how far the server's clock is ahead of the client's, in milliseconds, so the
 * client can compare a token's `exp` with the server's time instead of its own.
 *
 * Every estimate leans towards a server that is further ahead, because that error only makes
 * a refresh come earlier. The opposite error would let a token expire.
 */
export class ClockOffset {
  /** The estimate from the latest `Date` response header, or undefined before the first one. */
  #fromDateHeader: number | undefined;
  /** A lower bound from the current token's `iat`: the server's clock had reached it. */
  #fromIssuedAt: number | undefined;

  /**
   * Takes a sample from a response's `Date` header, ignoring a missing or unparsable one. The
   * header has whole seconds and was set after `sentAt`, so at `sentAt` the server's time was
   * at most the header's second plus one. That upper end is the estimate.
   */
  observeDateHeader(header: string | null, sentAt: number): void {
    // A browser shows a cross-origin response's `Date` only when the server lists it in
    // `Access-Control-Expose-Headers`, as tdb does for its CORS_ORIGINS; behind a server that
    // does not, only the `iat` bound below applies.
    if (header === null) return;
    const serverTime = Date.parse(header);
    if (Number.isNaN(serverTime)) return;
    this.#fromDateHeader = serverTime + 1000 - sentAt;
  }

  /**
   * Takes the `iat` claim (Unix seconds) of the token in use, replacing the previous token's.
   * The server issued the token before `receivedAt`, so its clock is at least that far ahead.
   */
  observeIssuedAt(issuedAtSeconds: number | undefined, receivedAt: number): void {
    this.#fromIssuedAt =
      issuedAtSeconds === undefined ? undefined : issuedAtSeconds * 1000 - receivedAt;
  }

  /**
   * Returns the estimated offset in milliseconds: server time minus client time. Before any
   * `Date` header is seen, a client that seems ahead of the server is assumed to be on time.
   */
  get milliseconds(): number {
    const lowerBound = this.#fromIssuedAt ?? Number.NEGATIVE_INFINITY;
    if (this.#fromDateHeader === undefined) return Math.max(0, lowerBound);
    return Math.max(this.#fromDateHeader, lowerBound);
  }
}
