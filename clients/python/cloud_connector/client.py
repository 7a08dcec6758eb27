"""The connector over HTTP (contract §5): `CloudConnector(...).for_user(user_id)` is the seed's
factory: a client bound to one user, every call signed as that user (§2)."""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Union
from urllib.parse import quote

import requests

from .errors import (
    CloudConnectorError,
    ConnectorTimeout,
    ConnectorUnreachable,
    DownloadInterrupted,
    UnexpectedResponse,
    error_class,
)
from .models import Account, Connection, ConnectSession, Entry, Listing
from .signer import IdentitySigner

DEFAULT_TIMEOUT_SECONDS = 15.0
DEFAULT_CHUNK_SIZE = 64 * 1024
ByteRange = Union[str, Tuple[int, Optional[int]]]


class CloudConnector:
    """One per process: holds the signer and a pooled HTTP session.

    `base_url` is where this backend reaches the connector's internal listener (`/v1`,
    contract §5: `INTERNAL_PORT`), never the public one browsers use.
    """

    def __init__(
        self,
        base_url: str,
        signer: IdentitySigner,
        timeout: Union[float, Tuple[float, float]] = DEFAULT_TIMEOUT_SECONDS,
        session: Optional[requests.Session] = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self._http = session or requests.Session()

    def for_user(self, user_id: Any) -> "UserClient":
        return UserClient(self, str(user_id))

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        user_id: str,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
    ) -> requests.Response:
        """One signed call; an error answer raises its §6 class, no answer a transport class."""
        sent = {"X-Identity-Assertion": self.signer.assertion(user_id), "Accept": "application/json"}
        sent.update(headers or {})
        try:
            response = self._http.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=sent,
                timeout=self.timeout,
                stream=stream,
                allow_redirects=False,
            )
        except requests.Timeout as error:
            raise ConnectorTimeout(f"{method} {path}: no answer within {self.timeout} s") from error
        except requests.RequestException as error:
            # The message names the host and the cause, never the assertion.
            raise ConnectorUnreachable(f"{method} {path}: {type(error).__name__}: {error}") from error
        if response.status_code >= 400:
            try:
                raise _problem(response)
            finally:
                response.close()
        return response

    def __repr__(self) -> str:
        return f"CloudConnector({self.base_url!r}, {self.signer!r})"


def _retry_after(value: Optional[str]) -> Optional[int]:
    if not value:
        return None
    if value.strip().isdigit():
        return int(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int((moment - datetime.now(timezone.utc)).total_seconds()))


def _problem(response: requests.Response) -> CloudConnectorError:
    status = response.status_code
    retry_after = _retry_after(response.headers.get("Retry-After"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return UnexpectedResponse(
            f"HTTP {status} without a problem document ({response.headers.get('Content-Type')})",
            status=status,
            retry_after=retry_after,
        )
    code = body["code"]
    return error_class(code, status)(
        str(body.get("detail") or body.get("title") or code),
        status=status,
        code=code,
        title=body.get("title"),
        retry_after=retry_after,
        size=_unsatisfied_size(response.headers.get("Content-Range")),
    )


def _unsatisfied_size(value: Optional[str]) -> Optional[int]:
    """`bytes */512` → 512: a 416's answer to "how long is the file, then?" (RFC 9110 §14.4)."""
    match = re.fullmatch(r"bytes \*/(\d+)", value.strip()) if value else None
    return int(match.group(1)) if match else None


def _json(response: requests.Response, expected: int) -> Dict[str, Any]:
    if response.status_code != expected:
        raise UnexpectedResponse(
            f"expected HTTP {expected}, got {response.status_code}", status=response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UnexpectedResponse("the answer is not a JSON object", status=response.status_code)
    return body


class UserClient:
    """The operations of contract §5 for one user (the seed's `get_cloud_client(user)`)."""

    def __init__(self, connector: CloudConnector, user_id: str) -> None:
        self.connector = connector
        self.user_id = user_id

    def _call(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Dict[str, Any]:
        return _json(self.connector.request(self.user_id, method, path, **kwargs), expected)

    # Connection and connect flow (§3)

    def connection(self) -> Connection:
        return Connection.from_json(self._call("GET", "/v1/connection"))

    def start_connect(self) -> ConnectSession:
        """A connect session: redirect the user's browser to its `connect_url`."""
        return ConnectSession.from_json(self._call("POST", "/v1/connect/sessions", expected=201))

    def complete(self, session: str, completion: Optional[str] = None) -> Connection:
        """Finish connecting with the `session` and `completion` of the return URL (§3.4)."""
        body = {} if completion is None else {"completion": completion}
        path = f"/v1/connect/sessions/{quote(session, safe='')}/complete"
        return Connection.from_json(self._call("POST", path, body=body))

    def disconnect(self) -> None:
        """Revokes the grant at Dropbox and forgets the connection; fine when there is none."""
        response = self.connector.request(self.user_id, "DELETE", "/v1/connection")
        response.close()
        if response.status_code != 204:
            raise UnexpectedResponse(
                f"expected HTTP 204, got {response.status_code}", status=response.status_code
            )

    # Cloud operations (§5)

    def me(self) -> Account:
        return Account.from_json(self._call("GET", "/v1/me"))

    def list_folder(self, path: str = "", recursive: bool = False, limit: Optional[int] = None) -> Listing:
        """One page of the folder at `path` (relative to the workspace, "" = its root)."""
        params: Dict[str, Any] = {"path": path}
        if recursive:
            params["recursive"] = "true"
        if limit is not None:
            params["limit"] = limit
        return Listing.from_json(self._call("GET", "/v1/workspace/list", params=params))

    def list_folder_continue(self, cursor: str) -> Listing:
        """The page after the one that returned `cursor` (or changes since then)."""
        return Listing.from_json(self._call("GET", "/v1/workspace/list", params={"cursor": cursor}))

    def iter_entries(
        self, path: str = "", recursive: bool = False, page_size: Optional[int] = None
    ) -> Iterator[Entry]:
        """Every entry under `path`, fetching pages through cursors as the loop goes."""
        page = self.list_folder(path, recursive=recursive, limit=page_size)
        while True:
            yield from page.entries
            if not page.has_more:
                return
            page = self.list_folder_continue(page.cursor)

    def metadata(self, path: str) -> Entry:
        """The file or folder at `path`; the workspace root is a folder with path ""."""
        return Entry.from_json(self._call("GET", "/v1/workspace/metadata", params={"path": path}))

    def download(
        self, path: str, byte_range: Optional[ByteRange] = None, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> "Download":
        """The file's bytes as a stream: iterate it (or `write_to` a file), then close it.

        `byte_range` is `(first, last)` (inclusive, `last` may be None) or a `bytes=…` string.
        """
        headers = {"Accept": "application/octet-stream"}
        if byte_range is not None:
            headers["Range"] = _range_header(byte_range)
        response = self.connector.request(
            self.user_id,
            "GET",
            "/v1/workspace/download",
            params={"path": path},
            headers=headers,
            stream=True,
        )
        if response.status_code not in (200, 206):
            response.close()
            raise UnexpectedResponse(
                f"expected HTTP 200 or 206, got {response.status_code}", status=response.status_code
            )
        return Download(response, chunk_size)

    def __repr__(self) -> str:
        return f"UserClient(user_id={self.user_id!r})"


def _range_header(byte_range: ByteRange) -> str:
    if isinstance(byte_range, str):
        return byte_range if byte_range.startswith("bytes=") else f"bytes={byte_range}"
    first, last = byte_range
    if first < 0 or (last is not None and last < first):
        raise ValueError(f"not a byte range: {byte_range!r}")
    return f"bytes={first}-{'' if last is None else last}"


class Download:
    """A streamed download (contract §5). Iterating yields chunks as they arrive; the whole
    file is never held in memory. Use it as a context manager, or close it."""

    def __init__(self, response: requests.Response, chunk_size: int) -> None:
        self._response = response
        self._chunk_size = chunk_size
        headers = response.headers
        #: 200 for the whole file, 206 for a range.
        self.status = response.status_code
        entry = headers.get("Cloud-Entry")
        self.entry: Optional[Entry] = Entry.from_json(json.loads(entry)) if entry else None
        length = headers.get("Content-Length")
        self.content_length: Optional[int] = int(length) if length and length.isdigit() else None
        self.content_range: Optional[str] = headers.get("Content-Range")
        self.etag: Optional[str] = headers.get("ETag")
        self.last_modified: Optional[str] = headers.get("Last-Modified")
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._response.iter_content(self._chunk_size):
                self.bytes_read += len(chunk)
                yield chunk
        except requests.RequestException as error:
            raise DownloadInterrupted(
                f"the download broke off after {self.bytes_read} bytes: {type(error).__name__}"
            ) from error
        finally:
            self.close()
        if self.content_length is not None and self.bytes_read != self.content_length:
            raise DownloadInterrupted(
                f"the download broke off after {self.bytes_read} of {self.content_length} bytes"
            )

    def write_to(self, target: Any) -> int:
        """Copies the stream into a binary file object; returns the number of bytes."""
        for chunk in self:
            target.write(chunk)
        return self.bytes_read

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> "Download":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
