"""Typed results (contract §3, §5): dataclasses with the wire's snake_case names.

Fields the connector adds later are ignored, so an older client keeps working.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional, Tuple, Type, TypeVar

T = TypeVar("T")


def parse_time(value: Optional[str]) -> Optional[datetime]:
    """An RFC 3339 time from the wire (`…Z` included, which Python < 3.11 does not parse)."""
    if value is None:
        return None
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _build(cls: Type[T], data: Mapping[str, Any], **converted: Any) -> T:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {key: value for key, value in data.items() if key in names}
    values.update(converted)
    return cls(**values)


@dataclass(frozen=True)
class ConnectSession:
    id: str
    #: Send the user's browser here (single use, 10 minutes).
    connect_url: str
    expires_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ConnectSession":
        return _build(cls, data, expires_at=parse_time(data["expires_at"]))


@dataclass(frozen=True)
class Connection:
    provider: str
    #: "connected", "reconnect_required" or "not_connected".
    status: str
    account_id: Optional[str] = None
    email: Optional[str] = None
    scopes: Tuple[str, ...] = ()
    connected_at: Optional[datetime] = None
    access_token_expires_at: Optional[datetime] = None
    #: With reconnect_required: "revoked" or "missing_scope" (then `missing_scope` names it).
    reason: Optional[str] = None
    missing_scope: Optional[str] = None

    @property
    def is_connected(self) -> bool:
        return self.status == "connected"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Connection":
        return _build(
            cls,
            data,
            scopes=tuple(data.get("scopes") or ()),
            connected_at=parse_time(data.get("connected_at")),
            access_token_expires_at=parse_time(data.get("access_token_expires_at")),
        )


@dataclass(frozen=True)
class Team:
    id: str
    name: str


@dataclass(frozen=True)
class Root:
    #: "user" or "team".
    type: str
    root_namespace_id: str
    home_namespace_id: str
    home_path: Optional[str] = None


@dataclass(frozen=True)
class Account:
    provider: str
    account_id: str
    display_name: str
    email: str
    email_verified: bool
    country: Optional[str]
    team: Optional[Team]
    root: Root

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Account":
        team = data.get("team")
        return _build(
            cls,
            data,
            team=_build(Team, team) if team else None,
            root=_build(Root, data["root"]),
        )


@dataclass(frozen=True)
class Entry:
    #: "file" or "folder".
    type: str
    id: str
    name: str
    #: Relative to the workspace root; "" is the root itself.
    path: str
    # Files only:
    size: Optional[int] = None
    modified_at: Optional[datetime] = None
    rev: Optional[str] = None
    content_hash: Optional[str] = None

    @property
    def is_file(self) -> bool:
        return self.type == "file"

    @property
    def is_folder(self) -> bool:
        return self.type == "folder"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Entry":
        return _build(cls, data, modified_at=parse_time(data.get("modified_at")))


@dataclass(frozen=True)
class Listing:
    #: The listed folder; None on a page fetched with a cursor.
    path: Optional[str]
    entries: Tuple[Entry, ...]
    #: Pass to `list_folder_continue` for the next page (or later, for changes).
    cursor: str
    has_more: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Listing":
        return _build(cls, data, entries=tuple(Entry.from_json(e) for e in data["entries"]))


__all__ = [
    "Account", "ConnectSession", "Connection", "Entry", "Listing", "Root", "Team",
]
