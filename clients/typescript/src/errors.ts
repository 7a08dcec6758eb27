/**
 * One error class per code of contract §6, under `CloudConnectorError`. `CloudAuthError`
 * (`NotConnected`, `ReconnectRequired`) means "send the user through connect again".
 */

export interface ErrorFields {
  status?: number
  code?: string
  title?: string
  /** Seconds from `Retry-After`, where the connector sent one (429, 503). */
  retryAfter?: number
  /** The file's size from `Content-Range: bytes *\/size`, where the connector sent one (416). */
  size?: number
  cause?: unknown
}

export class CloudConnectorError extends Error {
  /** HTTP status; undefined when there was no answer. */
  readonly status: number | undefined
  /** The §6 code (or this client's own for transport failures). */
  readonly code: string | undefined
  readonly detail: string
  readonly title: string | undefined
  readonly retryAfter: number | undefined

  constructor(detail: string, fields: ErrorFields = {}) {
    super(detail, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.name = new.target.name
    this.detail = detail
    this.status = fields.status
    this.code = fields.code
    this.title = fields.title
    this.retryAfter = fields.retryAfter
  }
}

/** The connector could not be reached (refused, reset, DNS, TLS). */
export class ConnectorUnreachable extends CloudConnectorError {}
/** The connector did not answer within the client's timeout. */
export class ConnectorTimeout extends ConnectorUnreachable {}
/** An answer that is not the contract's (e.g. an HTML page from a proxy). */
export class UnexpectedResponse extends CloudConnectorError {}
/** A download stopped before `Content-Length` bytes arrived (contract §5). */
export class DownloadInterrupted extends CloudConnectorError {}

/** The user has no usable connection: connect (again). */
export class CloudAuthError extends CloudConnectorError {}
export class BadRequest extends CloudConnectorError {}
export class Forbidden extends CloudConnectorError {}
export class NotFoundError extends CloudConnectorError {}
export class Conflict extends CloudConnectorError {}
/** Dropbox failed or was slow; retrying later may help (`retryAfter` where given). */
export class UpstreamFailure extends CloudConnectorError {}
/** A connect session cannot be completed (contract §3): start connecting again. */
export class SessionProblem extends CloudConnectorError {}

export class InvalidRequest extends BadRequest {}
export class InvalidPath extends BadRequest {}
export class InvalidCursor extends BadRequest {}
export class InvalidIdentity extends CloudConnectorError {}
export class SessionUserMismatch extends SessionProblem {}
export class CompletionMismatch extends SessionProblem {}
export class OperationNotAllowed extends Forbidden {}
export class NotFound extends NotFoundError {}
export class PathNotFound extends NotFoundError {}
export class SessionNotFound extends SessionProblem {}
export class NotConnected extends CloudAuthError {}
export class ReconnectRequired extends CloudAuthError {}
export class NotAFolder extends Conflict {}
export class NotAFile extends Conflict {}
export class SessionNotAuthorized extends SessionProblem {}
export class SessionAlreadyCompleted extends SessionProblem {}
export class SessionExpired extends SessionProblem {}
export class UpstreamRateLimited extends UpstreamFailure {}
export class UpstreamError extends UpstreamFailure {}
export class UpstreamUnavailable extends UpstreamFailure {}
export class UpstreamTimeout extends UpstreamFailure {}
export class InternalError extends CloudConnectorError {}
export class ShuttingDown extends CloudConnectorError {}
/** The requested byte range lies outside the file; `size` says how long the file is. */
export class RangeNotSatisfiable extends CloudConnectorError {
  readonly size: number | undefined
  constructor(detail: string, fields: ErrorFields = {}) {
    super(detail, fields)
    this.size = fields.size
  }
}

type ErrorClass = new (detail: string, fields?: ErrorFields) => CloudConnectorError

/** Contract §6 code → class. */
export const ERRORS_BY_CODE: Readonly<Record<string, ErrorClass>> = {
  invalid_request: InvalidRequest,
  invalid_path: InvalidPath,
  invalid_cursor: InvalidCursor,
  invalid_identity: InvalidIdentity,
  session_user_mismatch: SessionUserMismatch,
  completion_mismatch: CompletionMismatch,
  operation_not_allowed: OperationNotAllowed,
  not_found: NotFound,
  path_not_found: PathNotFound,
  session_not_found: SessionNotFound,
  not_connected: NotConnected,
  reconnect_required: ReconnectRequired,
  not_a_folder: NotAFolder,
  not_a_file: NotAFile,
  session_not_authorized: SessionNotAuthorized,
  session_already_completed: SessionAlreadyCompleted,
  session_expired: SessionExpired,
  upstream_rate_limited: UpstreamRateLimited,
  upstream_error: UpstreamError,
  upstream_unavailable: UpstreamUnavailable,
  upstream_timeout: UpstreamTimeout,
  internal_error: InternalError,
  shutting_down: ShuttingDown,
  range_not_satisfiable: RangeNotSatisfiable,
}

// A code this client does not know yet still lands in the family of its status.
const BY_STATUS: Readonly<Record<number, ErrorClass>> = {
  400: BadRequest,
  403: Forbidden,
  404: NotFoundError,
  409: Conflict,
  410: SessionProblem,
  416: RangeNotSatisfiable,
  429: UpstreamFailure,
  502: UpstreamFailure,
  503: UpstreamFailure,
  504: UpstreamFailure,
}

export function errorClass(code: string | undefined, status: number): ErrorClass {
  return (
    (code !== undefined && Object.hasOwn(ERRORS_BY_CODE, code)
      ? ERRORS_BY_CODE[code]
      : undefined) ??
    BY_STATUS[status] ??
    CloudConnectorError
  )
}
