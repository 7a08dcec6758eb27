"""Python client for cloud-connector (contract §12).

    from cloud_connector import CloudConnector, IdentitySigner, NotConnected

    connector = CloudConnector(
        "http://cloud-connector:8081",  # the internal listener (/v1)
        IdentitySigner(private_jwk, issuer="main-app"),
    )
    client = connector.for_user(user.pk)
    try:
        for entry in client.iter_entries("Reports"):
            ...
    except NotConnected:
        ...  # send the user to connect
"""

from .client import CloudConnector, Download, UserClient
# One exception class per contract §6 code.
from .errors import (
    CloudConnectorError,
    ConnectorUnreachable,
    ConnectorTimeout,
    UnexpectedResponse,
    CloudAuthError,
    BadRequest,
    Forbidden,
    NotFoundError,
    Conflict,
    UpstreamFailure,
    SessionProblem,
    InvalidRequest,
    InvalidPath,
    InvalidCursor,
    InvalidIdentity,
    SessionUserMismatch,
    CompletionMismatch,
    OperationNotAllowed,
    NotFound,
    PathNotFound,
    SessionNotFound,
    NotConnected,
    ReconnectRequired,
    NotAFolder,
    NotAFile,
    SessionNotAuthorized,
    SessionAlreadyCompleted,
    SessionExpired,
    UpstreamRateLimited,
    UpstreamError,
    UpstreamUnavailable,
    UpstreamTimeout,
    InternalError,
    RangeNotSatisfiable,
    ShuttingDown,
    DownloadInterrupted,
)
from .models import Account, Connection, ConnectSession, Entry, Listing, Root, Team
from .signer import IdentitySigner, load_private_jwk

__version__ = "0.1.0"

__all__ = [
    "Account",
    "BadRequest",
    "CloudAuthError",
    "CloudConnector",
    "CloudConnectorError",
    "CompletionMismatch",
    "Conflict",
    "Connection",
    "ConnectorTimeout",
    "ConnectorUnreachable",
    "ConnectSession",
    "Download",
    "DownloadInterrupted",
    "Entry",
    "Forbidden",
    "IdentitySigner",
    "InternalError",
    "InvalidCursor",
    "InvalidIdentity",
    "InvalidPath",
    "InvalidRequest",
    "Listing",
    "load_private_jwk",
    "NotAFile",
    "NotAFolder",
    "NotConnected",
    "NotFound",
    "NotFoundError",
    "OperationNotAllowed",
    "PathNotFound",
    "ReconnectRequired",
    "Root",
    "SessionAlreadyCompleted",
    "SessionExpired",
    "SessionNotAuthorized",
    "SessionNotFound",
    "SessionProblem",
    "SessionUserMismatch",
    "RangeNotSatisfiable",
    "ShuttingDown",
    "Team",
    "UnexpectedResponse",
    "UpstreamError",
    "UpstreamFailure",
    "UpstreamRateLimited",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "UserClient",
]
