/**
 * The cloud error family. `CloudAuthError`: the user has no usable
 * connection and must (re)connect; everything else is an upstream or request problem.
 */
import { type ErrorCode, ServiceError, type ServiceErrorOptions } from '../errors.ts'

export class CloudError extends ServiceError {
  constructor(code: ErrorCode, detail: string, options?: ServiceErrorOptions) {
    super(code, detail, options)
    this.name = 'CloudError'
  }
}

export class CloudAuthError extends CloudError {
  constructor(code: 'not_connected' | 'reconnect_required', detail: string) {
    super(code, detail)
    this.name = 'CloudAuthError'
  }
}

export class NotConnectedError extends CloudAuthError {
  constructor() {
    super('not_connected', 'No Dropbox connection for this user: connect first.')
    this.name = 'NotConnectedError'
  }
}

/** Why a connection needs a new connect (contract §5 `reason`). */
export type ReconnectReason =
  | { reason: 'revoked' }
  | { reason: 'missing_scope'; missingScope: string }

export class ReconnectRequiredError extends CloudAuthError {
  readonly why: ReconnectReason
  constructor(
    detail = 'The Dropbox authorization was revoked or has expired: connect again.',
    why: ReconnectReason = { reason: 'revoked' },
  ) {
    super('reconnect_required', detail)
    this.name = 'ReconnectRequiredError'
    this.why = why
  }

  /** The answer for a connection already marked `reconnect_required` for `why`. */
  static for(why: ReconnectReason): ReconnectRequiredError {
    return why.reason === 'missing_scope'
      ? new ReconnectRequiredError(missingScopeDetail(why.missingScope), why)
      : new ReconnectRequiredError(undefined, why)
  }
}

export function missingScopeDetail(scope: string): string {
  return `The connection lacks the Dropbox scope "${scope}": connect again.`
}

export function upstreamUnavailable(retryAfterSeconds = 1): CloudError {
  return new CloudError('upstream_unavailable', 'Dropbox is unavailable; retry later.', {
    retryAfterSeconds,
  })
}

/** Dropbox down, slow or asking to slow down: the same request may well succeed later. */
export function isTransientUpstreamError(error: unknown): boolean {
  return (
    error instanceof ServiceError &&
    (error.code === 'upstream_unavailable' ||
      error.code === 'upstream_rate_limited' ||
      error.code === 'upstream_timeout')
  )
}

export function upstreamTimeout(): CloudError {
  return new CloudError('upstream_timeout', 'Dropbox did not answer in time.')
}

export function upstreamMalformed(what: string): CloudError {
  return new CloudError('upstream_error', `Dropbox sent an unexpected answer to ${what}.`)
}

/** 416: the requested range lies outside the file; `size` becomes `Content-Range: bytes *\/size`. */
export class RangeNotSatisfiableError extends CloudError {
  readonly size: number | null
  constructor(size: number | null) {
    super('range_not_satisfiable', 'The requested range lies outside the file.')
    this.name = 'RangeNotSatisfiableError'
    this.size = size
  }
}
