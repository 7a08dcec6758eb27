"""The `CLOUD_CONNECTOR` settings dict, read once into one `CloudConnector` per process."""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ..client import DEFAULT_TIMEOUT_SECONDS, CloudConnector, UserClient
from ..signer import DEFAULT_AUDIENCE, IdentitySigner

REQUIRED = ("URL", "SIGNING_KEY", "ISSUER")
KNOWN = REQUIRED + ("AUDIENCE", "TIMEOUT", "USER_ID", "REDIRECT_URL")

_lock = threading.Lock()
_connector: Optional[CloudConnector] = None


def options() -> dict:
    configured = getattr(settings, "CLOUD_CONNECTOR", None)
    if not isinstance(configured, dict):
        raise ImproperlyConfigured(
            "CLOUD_CONNECTOR must be a dict with URL, SIGNING_KEY and ISSUER (see the client's README)"
        )
    missing = [name for name in REQUIRED if not configured.get(name)]
    unknown = sorted(set(configured) - set(KNOWN))
    if missing or unknown:
        problems = [f"missing {', '.join(missing)}" if missing else "", f"unknown {', '.join(unknown)}" if unknown else ""]
        raise ImproperlyConfigured(f"CLOUD_CONNECTOR: {'; '.join(p for p in problems if p)}")
    return configured


def get_connector() -> CloudConnector:
    """The process-wide client (one pooled HTTP session), built from settings on first use."""
    global _connector
    with _lock:
        if _connector is None:
            config = options()
            try:
                signer = IdentitySigner(
                    config["SIGNING_KEY"],
                    issuer=config["ISSUER"],
                    audience=config.get("AUDIENCE", DEFAULT_AUDIENCE),
                )
            except (OSError, ValueError) as error:
                # The message says what is wrong with the key, never the key.
                raise ImproperlyConfigured(f"CLOUD_CONNECTOR['SIGNING_KEY']: {error}") from None
            _connector = CloudConnector(
                config["URL"], signer, timeout=config.get("TIMEOUT", DEFAULT_TIMEOUT_SECONDS)
            )
        return _connector


def user_id_of(user: Any) -> str:
    mapper: Optional[Callable[[Any], Any]] = options().get("USER_ID")
    return str(mapper(user) if mapper else user.pk)


def get_cloud_client(user: Any) -> UserClient:
    """The seed's factory: a client bound to this (signed-in) user. Its calls raise
    `NotConnected` / `ReconnectRequired` (both `CloudAuthError`) when the user must connect."""
    if not getattr(user, "is_authenticated", False):
        raise ValueError("get_cloud_client needs a signed-in user")
    return get_connector().for_user(user_id_of(user))


def _forget(setting: str, **kwargs: Any) -> None:
    global _connector
    if setting == "CLOUD_CONNECTOR":
        with _lock:
            if _connector is not None:
                _connector.close()
            _connector = None


setting_changed.connect(_forget)
