/**
 * The one error family of the service. Core code throws these with a stable `code`
 * (contract §6); the HTTP layer alone decides the status and the problem+json shape.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_path'
  | 'invalid_cursor'
  | 'invalid_identity'
  | 'session_user_mismatch'
  | 'completion_mismatch'
  | 'session_already_completed'
  | 'operation_not_allowed'
  | 'not_found'
  | 'path_not_found'
  | 'session_not_found'
  | 'not_connected'
  | 'reconnect_required'
  | 'not_a_folder'
  | 'not_a_file'
  | 'range_not_satisfiable'
  | 'session_not_authorized'
  | 'session_expired'
  | 'upstream_rate_limited'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'shutting_down'
  | 'internal_error'

export interface ServiceErrorOptions {
  /** Seconds a caller should wait before retrying; becomes `Retry-After`. */
  retryAfterSeconds?: number
  cause?: unknown
}

export class ServiceError extends Error {
  readonly code: ErrorCode
  /** Safe to show to the caller: never a token, code, state or assertion. */
  readonly detail: string
  readonly retryAfterSeconds: number | undefined

  constructor(code: ErrorCode, detail: string, options: ServiceErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ServiceError'
    this.code = code
    this.detail = detail
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}
