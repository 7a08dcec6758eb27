"""The Python client against the real connector and the Dropbox emulator (contract §3, §5, §6)."""

import json
import secrets
import socket
import threading
import time

import jwt
import pytest

from cloud_connector import (
    CloudAuthError,
    CloudConnector,
    CloudConnectorError,
    CompletionMismatch,
    ConnectorTimeout,
    ConnectorUnreachable,
    IdentitySigner,
    InvalidCursor,
    InvalidIdentity,
    InvalidPath,
    NotAFolder,
    NotConnected,
    OperationNotAllowed,
    PathNotFound,
    ReconnectRequired,
    SessionAlreadyCompleted,
    SessionNotAuthorized,
    SessionProblem,
    SessionUserMismatch,
    UpstreamRateLimited,
)
from harness import ISSUER, MAIN_KID, Browser, return_query


def test_the_signer_mints_a_60_second_eddsa_assertion_from_the_keygen_file(stack, signer):
    token = signer.assertion(17)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": MAIN_KID, "typ": "JWT"}
    jwks = json.loads((stack.workdir / "identity-jwks.json").read_text())
    public = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="cloud-connector", issuer=ISSUER)
    assert claims["sub"] == "17"
    assert claims["exp"] - claims["iat"] == 60


def test_the_signer_refuses_keys_the_connector_would_refuse(stack):
    public_only = {k: v for k, v in stack.es256_jwk.items() if k != "d"}
    with pytest.raises(ValueError, match="private"):
        IdentitySigner(public_only, issuer=ISSUER)
    with pytest.raises(ValueError, match="EdDSA.*ES256"):
        IdentitySigner({"kty": "oct", "k": "c2VjcmV0", "kid": "x"}, issuer=ISSUER)
    with pytest.raises(ValueError, match="kid"):
        IdentitySigner({k: v for k, v in stack.es256_jwk.items() if k != "kid"}, issuer=ISSUER)
    with pytest.raises(ValueError, match="lifetime"):
        IdentitySigner(stack.es256_jwk, issuer=ISSUER, lifetime_seconds=301)
    with pytest.raises(ValueError, match="255"):
        IdentitySigner(stack.es256_jwk, issuer=ISSUER).assertion("x" * 256)
    assert "\"d\"" not in repr(IdentitySigner(stack.es256_jwk, issuer=ISSUER))


def test_the_signer_sends_a_users_assertion_again_for_half_its_lifetime(stack):
    # ES256 signatures are randomised: two mints never give the same token, so a repeat is a reuse.
    now = [1_796_000_000.5]
    signer = IdentitySigner(stack.es256_jwk, issuer=ISSUER, clock=lambda: now[0])
    first = signer.assertion("u-1")
    assert signer.assertion("u-2") != first
    now[0] += 29.0  # 29.5 s after the assertion's iat
    assert signer.assertion("u-1") == first
    now[0] += 0.5  # 30 s after iat: 30 s of its 60 s are left, the least an assertion is sent with
    second = signer.assertion("u-1")
    assert second != first
    assert jwt.decode(second, options={"verify_signature": False})["iat"] == int(now[0])
    # A clock set back before the assertion's iat gets a new one, not the old one for longer.
    now[0] -= 1
    assert signer.assertion("u-1") != second
    # Threads asking at once get a valid assertion each, and one is kept.
    results = []
    workers = [threading.Thread(target=lambda: results.append(signer.assertion("u-3"))) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 8 and signer.assertion("u-3") in results


def test_the_signer_keeps_1000_users_and_mints_per_call_when_reuse_is_0(stack):
    signer = IdentitySigner(stack.es256_jwk, issuer=ISSUER)
    firsts = [signer.assertion(f"u-{user}") for user in range(1001)]
    # The 1,001st user pushed out the first one kept.
    assert signer.assertion("u-0") != firsts[0]
    assert signer.assertion("u-1000") == firsts[1000]
    per_call = IdentitySigner(stack.es256_jwk, issuer=ISSUER, reuse_seconds=0)
    assert per_call.assertion("u-1") != per_call.assertion("u-1")
    for reuse in (-1, 1.5, 31, True):
        with pytest.raises(ValueError, match="reuse_seconds"):
            IdentitySigner(stack.es256_jwk, issuer=ISSUER, reuse_seconds=reuse)
    IdentitySigner(stack.es256_jwk, issuer=ISSUER, lifetime_seconds=300, reuse_seconds=150)


def test_a_user_without_a_connection_gets_not_connected(connector, user_id):
    client = connector.for_user(user_id)
    connection = client.connection()
    assert (connection.provider, connection.status, connection.is_connected) == ("dropbox", "not_connected", False)
    with pytest.raises(NotConnected) as raised:
        client.me()
    # Where the seed's CloudAuthError stood: one except clause for "send them to connect".
    assert isinstance(raised.value, CloudAuthError)
    assert (raised.value.status, raised.value.code) == (409, "not_connected")
    assert raised.value.detail
    with pytest.raises(NotConnected):
        list(client.iter_entries(""))
    client.disconnect()  # nothing to disconnect is fine


def test_the_whole_journey_connect_list_page_disconnect(stack, connector, user_id, connect):
    client = connector.for_user(user_id)
    session = client.start_connect()
    assert session.connect_url.startswith(f"{stack.public_url}/connect?token=")
    query = return_query(Browser().consent(session.connect_url, stack.account_id("alice")))
    assert query["status"] == "authorized" and query["session"] == session.id

    connection = client.complete(session.id, query.get("completion"))
    assert connection.is_connected
    assert connection.account_id == stack.account_id("alice")
    assert connection.email == "alice@example.com"
    assert "files.metadata.read" in connection.scopes
    assert connection.connected_at is not None and connection.connected_at.tzinfo is not None
    assert client.connection().account_id == stack.account_id("alice")

    me = client.me()
    assert (me.account_id, me.email, me.team, me.root.type) == (stack.account_id("alice"), "alice@example.com", None, "user")

    top = client.list_folder("")
    names = {entry.name for entry in top.entries}
    assert {"Office", "Photos", "Big"} <= names
    office = next(entry for entry in top.entries if entry.name == "Office")
    assert office.is_folder and office.size is None and office.path == "Office"

    first = client.list_folder("Big", limit=100)
    assert first.has_more and 0 < len(first.entries) < 500 and first.path == "Big"
    second = client.list_folder_continue(first.cursor)
    assert second.path is None
    assert not {e.id for e in first.entries} & {e.id for e in second.entries}

    entries = list(client.iter_entries("Big", page_size=100))
    assert len(entries) == 500
    assert len({entry.id for entry in entries}) == 500
    assert all(entry.is_file and entry.path.startswith("Big/file-") for entry in entries)
    assert entries[0].size is not None and entries[0].modified_at is not None

    recursive = {entry.path for entry in client.iter_entries("Office", recursive=True)}
    assert "Office/Reports/Q1.pdf" in recursive

    client.disconnect()
    assert client.connection().status == "not_connected"
    with pytest.raises(NotConnected):
        client.list_folder("")


def test_listing_errors_are_their_classes(connector, user_id, connect):
    client = connector.for_user(user_id)
    connect(client)
    with pytest.raises(InvalidPath) as raised:
        client.list_folder("../etc")
    assert raised.value.status == 400
    with pytest.raises(PathNotFound):
        client.list_folder("No such folder")
    with pytest.raises(NotAFolder):
        client.list_folder("Office/notes.txt")
    with pytest.raises(InvalidCursor):
        client.list_folder_continue("not-a-cursor")


def test_a_second_complete_is_refused(connector, user_id, stack):
    client = connector.for_user(user_id)
    session = client.start_connect()
    query = return_query(Browser().consent(session.connect_url, stack.account_id("bob")))
    client.complete(session.id, query.get("completion"))
    with pytest.raises(SessionProblem) as raised:
        client.complete(session.id, query.get("completion"))
    # 409 session_already_completed (contract v2) or, before it, session_not_authorized.
    assert isinstance(raised.value, (SessionAlreadyCompleted, SessionNotAuthorized))
    assert raised.value.status == 409


def test_another_user_cannot_complete_and_the_session_is_cancelled(connector, user_id, stack):
    starter, other = connector.for_user(user_id), connector.for_user(user_id + "-other")
    session = starter.start_connect()
    query = return_query(Browser().consent(session.connect_url, stack.account_id("alice")))
    with pytest.raises(SessionUserMismatch) as raised:
        other.complete(session.id, query.get("completion"))
    assert raised.value.status == 403
    assert other.connection().status == "not_connected"
    with pytest.raises(SessionProblem):
        starter.complete(session.id, query.get("completion"))
    assert starter.connection().status == "not_connected"


def test_a_wrong_completion_secret_is_refused(connector, user_id, stack):
    client = connector.for_user(user_id)
    session = client.start_connect()
    query = return_query(Browser().consent(session.connect_url, stack.account_id("alice")))
    assert query["completion"]
    with pytest.raises(CompletionMismatch):
        client.complete(session.id, "x" * len(query["completion"]))
    assert client.connection().status == "not_connected"


def test_a_denied_consent_comes_back_as_denied(connector, user_id, stack):
    session = connector.for_user(user_id).start_connect()
    query = return_query(Browser().consent(session.connect_url, stack.account_id("alice"), decision="deny"))
    assert query["status"] == "denied"
    assert "completion" not in query


def test_a_revoked_grant_is_reconnect_required(stack, connector, user_id, connect):
    # An account of its own (ids as Dropbox issues them: dbid: + 35 characters).
    account = "dbid:AA" + secrets.token_urlsafe(33)[:33]
    stack.control(
        "seed-account",
        accountId=account, email=f"{user_id}@example.com", givenName="Rev", surname="Oked",
        homeNamespaceId=str(int(time.time() * 1000)),
    )
    client = connector.for_user(user_id)
    connect(client, account)
    stack.control("revoke-refresh-tokens", accountId=account)
    stack.control("expire-access-tokens", accountId=account)
    with pytest.raises(ReconnectRequired) as raised:
        client.me()
    assert isinstance(raised.value, CloudAuthError) and raised.value.status == 409
    assert client.connection().status == "reconnect_required"


def test_a_rate_limit_carries_retry_after(stack, connector, user_id, connect):
    client = connector.for_user(user_id)
    connect(client)
    stack.control(
        "inject-fault",
        route="/2/users/get_current_account",
        fault={"kind": "rate_limit", "retryAfter": 7, "body": "json"},
        times=5,
    )
    try:
        with pytest.raises(UpstreamRateLimited) as raised:
            client.me()
    finally:
        stack.control("clear-faults")
    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (429, "upstream_rate_limited", 7)


def test_a_wrong_issuer_is_invalid_identity(stack):
    wrong = IdentitySigner(stack.signing_key_path, issuer="someone-else")
    with pytest.raises(InvalidIdentity) as raised:
        CloudConnector(stack.api_url, wrong).for_user("u1").connection()
    assert raised.value.status == 401
    assert "iss" in raised.value.detail


def test_es256_keys_sign_too(stack, connector, user_id, connect):
    connect(connector.for_user(user_id), stack.account_id("bob"))
    reports = CloudConnector(stack.api_url, IdentitySigner(stack.es256_jwk, issuer=ISSUER))
    assert reports.for_user(user_id).me().account_id == stack.account_id("bob")


def test_a_caller_without_the_permission_is_refused(stack, user_id):
    reports = CloudConnector(stack.api_url, IdentitySigner(stack.es256_jwk, issuer=ISSUER))
    with pytest.raises(OperationNotAllowed) as raised:
        reports.for_user(user_id).start_connect()
    assert raised.value.status == 403


def test_no_connector_at_the_address_is_unreachable(signer):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(ConnectorUnreachable) as raised:
            CloudConnector(f"http://127.0.0.1:{port}", signer, timeout=2).for_user("u1").connection()
    assert not isinstance(raised.value, ConnectorTimeout)
    assert raised.value.status is None
    assert isinstance(raised.value, CloudConnectorError)


def test_a_connector_that_never_answers_is_a_timeout(signer):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(ConnectorTimeout):
            CloudConnector(f"http://127.0.0.1:{server.getsockname()[1]}", signer, timeout=0.5).for_user("u1").me()
        assert time.monotonic() - started < 5
    finally:
        for connection, _ in accepted:
            connection.close()
        server.close()
