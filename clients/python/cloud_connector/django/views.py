"""The main app's three connect integration points (contract §3), as Django views.

1. `connect` (POST): create a connect session as the signed-in user, send the browser there.
2. `connect_return` (GET, the connector's `CONNECT_RETURN_URL`): only `complete`, called as the
   *signed-in* user with the completion secret from this URL, attaches the Dropbox account, so a
   forwarded link can never connect someone else's Dropbox to this account.
3. `disconnect` (POST): the connector revokes the grant at Dropbox and forgets it.

State changes are POST, so Django's CSRF protection covers them. Outcomes are messages
(`django.contrib.messages`) on the page `CLOUD_CONNECTOR["REDIRECT_URL"]` (default "/").
"""

from __future__ import annotations

import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ..errors import (
    CloudConnectorError,
    CompletionMismatch,
    SessionAlreadyCompleted,
    SessionExpired,
    SessionNotAuthorized,
    SessionNotFound,
    SessionUserMismatch,
    UpstreamFailure,
)
from .conf import get_cloud_client, options

logger = logging.getLogger("cloud_connector")

CONNECTED = "Your Dropbox is connected."
DISCONNECTED = "Your Dropbox is disconnected."
DENIED = "You cancelled the Dropbox authorization, so nothing was connected."
USER_MISMATCH = (
    "This Dropbox connection was started by another user, not by the one signed in now. "
    "For your safety nothing was connected and the link was cancelled."
)
COMPLETION_MISMATCH = (
    "This Dropbox connection could not be confirmed for this browser. "
    "For your safety nothing was connected. Please start again."
)
EXPIRED = "The connection attempt took too long and expired. Please try again."
ALREADY_USED = "This connection attempt was already used or is unknown. Please try again."
UNAVAILABLE = "Dropbox could not be reached just now. Please try again in a moment."
FAILED = "Something went wrong with Dropbox. Please try again."

# The connector sends only [a-z_] codes; anything else in the URL is not repeated to the user.
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


def _back(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(resolve_url(options().get("REDIRECT_URL", "/")))


def _failed(request: HttpRequest, error: CloudConnectorError, action: str) -> HttpResponseRedirect:
    logger.warning("cloud connector: %s failed: %s", action, error)
    messages.error(request, UNAVAILABLE if isinstance(error, UpstreamFailure) else FAILED)
    return _back(request)


@require_POST
@login_required
def connect(request: HttpRequest) -> HttpResponse:
    try:
        session = get_cloud_client(request.user).start_connect()
    except CloudConnectorError as error:
        return _failed(request, error, "connect")
    return HttpResponseRedirect(session.connect_url)


# Refusals and their messages: each cancels (or never had) the session, so "start again".
_COMPLETE_REFUSALS = (
    (SessionUserMismatch, USER_MISMATCH),
    (CompletionMismatch, COMPLETION_MISMATCH),
    (SessionExpired, EXPIRED),
    ((SessionNotFound, SessionNotAuthorized, SessionAlreadyCompleted), ALREADY_USED),
)


@never_cache
@require_GET
@login_required
def connect_return(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status")
    session = request.GET.get("session")
    if status == "denied":
        messages.info(request, DENIED)
    elif status != "authorized" or not session:
        code = request.GET.get("error", "")
        shown = code if _ERROR_CODE.match(code) else "unknown"
        messages.error(request, f"Dropbox reported an error ({shown}). Nothing was connected.")
    else:
        try:
            get_cloud_client(request.user).complete(session, request.GET.get("completion"))
        except CloudConnectorError as error:
            for refusal, text in _COMPLETE_REFUSALS:
                if isinstance(error, refusal):
                    logger.info("cloud connector: complete refused: %s", error.code)
                    messages.error(request, text)
                    break
            else:
                # Transient (upstream 5xx, timeout, 429): nothing was connected; the message
                # says to try again.
                return _failed(request, error, "complete")
        else:
            messages.success(request, CONNECTED)
    response = _back(request)
    # This URL carried the completion secret: never pass it on as a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
@login_required
def disconnect(request: HttpRequest) -> HttpResponse:
    try:
        get_cloud_client(request.user).disconnect()
    except CloudConnectorError as error:
        return _failed(request, error, "disconnect")
    messages.success(request, DISCONNECTED)
    return _back(request)
