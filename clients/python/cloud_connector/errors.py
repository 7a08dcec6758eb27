"""One exception class per error code of contract §6, under `CloudConnectorError`.

Catch the base for "anything went wrong", `CloudAuthError` for "the user must (re)connect"
(`NotConnected`, `ReconnectRequired`: where the seed's `CloudAuthError` stood), or one class.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class CloudConnectorError(Exception):
    """An error answer of the connector (RFC 9457 problem), or no answer at all."""

    #: The §6 code this class stands for (None on the base and the transport classes).
    code_name: Optional[str] = None

    def __init__(
        self,
        detail: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        title: Optional[str] = None,
        retry_after: Optional[int] = None,
        size: Optional[int] = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code if code is not None else self.code_name
        self.title = title
        #: Seconds from `Retry-After`, where the connector sent one (429, 503).
        self.retry_after = retry_after
        #: The file's size from `Content-Range: bytes */size`, where the connector sent one (416).
        self.size = size

    def __str__(self) -> str:
        prefix = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class ConnectorUnreachable(CloudConnectorError):
    """The connector could not be reached (connection refused, reset, DNS, TLS)."""


class ConnectorTimeout(ConnectorUnreachable):
    """The connector did not answer within the client's timeout."""


class UnexpectedResponse(CloudConnectorError):
    """An answer that is not the contract's (e.g. an HTML error page from a proxy)."""


class CloudAuthError(CloudConnectorError):
    """The user has no usable connection: send them through connect again."""


class BadRequest(CloudConnectorError):
    """A 400 (the caller sent something the connector refuses)."""


class Forbidden(CloudConnectorError):
    """A 403."""


class NotFoundError(CloudConnectorError):
    """A 404."""


class Conflict(CloudConnectorError):
    """A 409 that is not about the connection."""


class UpstreamFailure(CloudConnectorError):
    """Dropbox failed or was slow; retrying later may help (`retry_after` where given)."""


class SessionProblem(CloudConnectorError):
    """A connect session cannot be completed (§3): start connecting again."""


class InvalidRequest(BadRequest):
    """Schema validation failed."""

    code_name = "invalid_request"


class InvalidPath(BadRequest):
    """A path the workspace refuses (§4)."""

    code_name = "invalid_path"


class InvalidCursor(BadRequest):
    """A cursor that is not valid (any more)."""

    code_name = "invalid_cursor"


class InvalidIdentity(CloudConnectorError):
    """The connector refused the assertion (§2): check key, issuer, audience, clock."""

    code_name = "invalid_identity"


class SessionUserMismatch(Forbidden, SessionProblem):
    """Another user started this connect session; it is cancelled."""

    code_name = "session_user_mismatch"


class CompletionMismatch(Forbidden, SessionProblem):
    """The completion secret does not match this session; it is cancelled."""

    code_name = "completion_mismatch"


class OperationNotAllowed(Forbidden):
    """This calling service may not call this operation (§2)."""

    code_name = "operation_not_allowed"


class NotFound(NotFoundError):
    """No such route or resource."""

    code_name = "not_found"


class PathNotFound(NotFoundError):
    """Nothing at this path in the workspace."""

    code_name = "path_not_found"


class SessionNotFound(NotFoundError, SessionProblem):
    """Unknown connect session."""

    code_name = "session_not_found"


class NotConnected(CloudAuthError):
    """The user has no connection: connect first."""

    code_name = "not_connected"


class ReconnectRequired(CloudAuthError):
    """The grant was revoked or expired: connect again."""

    code_name = "reconnect_required"


class NotAFolder(Conflict):
    """The path is a file, not a folder."""

    code_name = "not_a_folder"


class NotAFile(Conflict):
    """The path is a folder, not a file."""

    code_name = "not_a_file"


class SessionNotAuthorized(Conflict, SessionProblem):
    """The browser has not (successfully) come back from Dropbox."""

    code_name = "session_not_authorized"


class SessionAlreadyCompleted(Conflict, SessionProblem):
    """This session was completed already."""

    code_name = "session_already_completed"


class SessionExpired(SessionProblem):
    """The connect session expired (or Dropbox refused its code)."""

    code_name = "session_expired"


class UpstreamRateLimited(UpstreamFailure):
    """Dropbox rate-limits this user; wait `retry_after` seconds."""

    code_name = "upstream_rate_limited"


class UpstreamError(UpstreamFailure):
    """Dropbox answered something malformed or unexpected."""

    code_name = "upstream_error"


class UpstreamUnavailable(UpstreamFailure):
    """Dropbox is unavailable after bounded retries."""

    code_name = "upstream_unavailable"


class UpstreamTimeout(UpstreamFailure):
    """Dropbox did not answer within the connector's deadline."""

    code_name = "upstream_timeout"


class InternalError(CloudConnectorError):
    """The connector failed."""

    code_name = "internal_error"


class ShuttingDown(CloudConnectorError):
    """The instance is draining; retry (another replica answers)."""

    code_name = "shutting_down"


class RangeNotSatisfiable(CloudConnectorError):
    """The requested byte range lies outside the file; `size` says how long the file is."""

    code_name = "range_not_satisfiable"


#: §6 code → class.
ERRORS_BY_CODE: Dict[str, Type[CloudConnectorError]] = {
    cls.code_name: cls
    for cls in (
        InvalidRequest, InvalidPath, InvalidCursor, InvalidIdentity, SessionUserMismatch,
        CompletionMismatch, OperationNotAllowed, NotFound, PathNotFound, SessionNotFound,
        NotConnected, ReconnectRequired, NotAFolder, NotAFile, SessionNotAuthorized,
        SessionAlreadyCompleted, SessionExpired, UpstreamRateLimited, UpstreamError,
        UpstreamUnavailable, UpstreamTimeout, InternalError, ShuttingDown, RangeNotSatisfiable,
    )
}

# A code this client does not know yet still lands in the family of its status.
_BY_STATUS: Dict[int, Type[CloudConnectorError]] = {
    400: BadRequest, 403: Forbidden, 404: NotFoundError, 409: Conflict, 410: SessionProblem,
    416: RangeNotSatisfiable, 429: UpstreamFailure, 502: UpstreamFailure, 503: UpstreamFailure,
    504: UpstreamFailure,
}


def error_class(code: Optional[str], status: int) -> Type[CloudConnectorError]:
    known = ERRORS_BY_CODE.get(code or "")
    return known if known is not None else _BY_STATUS.get(status, CloudConnectorError)


class DownloadInterrupted(CloudConnectorError):
    """A download stopped before `Content-Length` bytes arrived (contract §5: the connector
    aborts the response when Dropbox fails mid-stream). What arrived is incomplete."""

    code_name = "download_interrupted"
