/**
 * The deadline of one upstream call (`UPSTREAM_TIMEOUT_MS`, contract §6), retries included:
 * what `AbortSignal.timeout(ms)` gives, without its cost on the request path. That signal is
 * tracked through a WeakRef and a FinalizationRegistry (~4.5 µs per call); a plain
 * AbortController still costs ~2,000 machine instructions to make, and the transport's abort
 * listener ~6,000 to add and remove (EventTarget; docs/performance.md). The transport waits on
 * `watch`, a plain callback; APIs that need a real signal (the SDK's revoke, the wait between
 * retries) read `signal`, made on first read and aborted with the same reason. `clear` ends it
 * with the call, so a download's body is bounded by its caller, not by this deadline
 * (content-transport.ts).
 */
export class Deadline {
  readonly #timer: NodeJS.Timeout
  #reason: DOMException | undefined
  #controller: AbortController | undefined
  /** Usually one: a call has one request in flight per attempt. */
  readonly #watchers: Array<() => void> = []

  constructor(ms: number) {
    this.#timer = setTimeout(() => this.#expire(), ms)
    this.#timer.unref()
  }

  /** Named as on AbortSignal, so a check reads the same for either. */
  get aborted(): boolean {
    return this.#reason !== undefined
  }

  /** A `TimeoutError` DOMException once expired, as `AbortSignal.timeout` gives. */
  get reason(): DOMException | undefined {
    return this.#reason
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#reason !== undefined) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  /**
   * Calls `onExpiry` once when the deadline passes (at once if it has passed). The returned
   * function forgets it: the request it stops has settled.
   */
  watch(onExpiry: () => void): () => void {
    if (this.#reason !== undefined) {
      onExpiry()
      return noop
    }
    this.#watchers.push(onExpiry)
    return () => {
      const at = this.#watchers.indexOf(onExpiry)
      if (at !== -1) this.#watchers.splice(at, 1)
    }
  }

  /** The call is over: nothing may expire after this, whoever still holds the deadline. */
  clear(): void {
    clearTimeout(this.#timer)
  }

  #expire(): void {
    this.#reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    this.#controller?.abort(this.#reason)
    for (const watcher of this.#watchers.splice(0)) watcher()
  }
}

/**
 * Calls `onStop` once when `stop` fires, at once if it already has, for a deadline and a caller's
 * AbortSignal alike; gives back the function that forgets it (nothing to forget without `stop`).
 */
export function whenStopped(
  stop: Deadline | AbortSignal | undefined,
  onStop: () => void,
): () => void {
  if (stop === undefined) return noop
  if (stop instanceof Deadline) return stop.watch(onStop)
  if (stop.aborted) {
    onStop()
    return noop
  }
  stop.addEventListener('abort', onStop, { once: true })
  return () => stop.removeEventListener('abort', onStop)
}

function noop(): void {}
