"""Every fault the emulator can inject, as the SDK reports it (dropbox/exceptions.py)."""

import json
from datetime import datetime, timedelta

import pytest
import requests
from dropbox.exceptions import AuthError, InternalServerError, RateLimitError

ACCOUNT = '/2/users/get_current_account'
TOKEN = '/oauth2/token'


@pytest.fixture(scope='module')
def tokens(emulator):
    return emulator.connect(emulator.account_id('bob@example.com'))


@pytest.fixture
def client(emulator, tokens):
    yield emulator.client(tokens)
    emulator.control('clear-faults')


@pytest.mark.parametrize('reason', ['too_many_requests', 'too_many_write_operations'])
def test_a_json_429_is_a_rate_limit_error_with_its_reason_and_backoff(emulator, client, reason):
    emulator.inject_fault(ACCOUNT, {'kind': 'rate_limit', 'retryAfter': 7, 'body': 'json', 'reason': reason})

    with pytest.raises(RateLimitError) as raised:
        client.users_get_current_account()
    assert raised.value.backoff == 7
    assert raised.value.error.retry_after == 7
    assert getattr(raised.value.error.reason, f'is_{reason}')()


def test_a_plain_text_429_takes_the_backoff_from_retry_after(emulator, client):
    emulator.inject_fault(ACCOUNT, {'kind': 'rate_limit', 'retryAfter': 3, 'body': 'text'})

    with pytest.raises(RateLimitError) as raised:
        client.users_get_current_account()
    assert raised.value.error is None and raised.value.backoff == 3


def test_the_sdk_waits_out_a_429_and_retries(emulator, tokens):
    emulator.inject_fault(ACCOUNT, {'kind': 'rate_limit', 'retryAfter': 1, 'body': 'json'})
    client = emulator.client(tokens, max_retries_on_rate_limit=1)
    emulator.adapter.calls.clear()

    assert client.users_get_current_account().email == 'bob@example.com'
    assert emulator.adapter.calls == [('api.dropboxapi.com', ACCOUNT)] * 2


@pytest.mark.parametrize('status', [500, 502, 503])
def test_a_5xx_is_an_internal_server_error(emulator, client, status):
    emulator.inject_fault(ACCOUNT, {'kind': 'status', 'status': status})

    with pytest.raises(InternalServerError) as raised:
        client.users_get_current_account()
    assert raised.value.status_code == status
    assert raised.value.request_id


def test_the_sdk_retries_a_5xx(emulator, tokens):
    emulator.inject_fault(ACCOUNT, {'kind': 'status', 'status': 503})
    client = emulator.client(tokens, max_retries_on_error=1)

    assert client.users_get_current_account().email == 'bob@example.com'


def test_a_5xx_from_the_token_endpoint_fails_the_refresh(emulator, tokens):
    emulator.inject_fault(TOKEN, {'kind': 'status', 'status': 500})
    client = emulator.client(
        tokens, oauth2_access_token_expiration=datetime.utcnow() - timedelta(seconds=1)
    )

    with pytest.raises(InternalServerError) as raised:
        client.users_get_current_account()
    assert raised.value.status_code == 500
    assert 'has either erred' in raised.value.body


def test_a_short_delay_is_only_slower(emulator, client):
    emulator.inject_fault(ACCOUNT, {'kind': 'delay', 'ms': 300})

    assert client.users_get_current_account().email == 'bob@example.com'


@pytest.mark.parametrize('fault', [{'kind': 'delay', 'ms': 5000}, {'kind': 'hang'}])
def test_a_long_delay_or_a_hang_times_out(emulator, tokens, fault):
    emulator.inject_fault(ACCOUNT, fault)
    client = emulator.client(tokens, timeout=0.5)

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.users_get_current_account()
    emulator.control('clear-faults')


def test_half_a_json_body_is_a_json_decode_error(emulator, client):
    emulator.inject_fault(ACCOUNT, {'kind': 'malformed_json'})

    # The SDK decodes the 200 body with json.loads before its validators see it.
    with pytest.raises(json.JSONDecodeError):
        client.users_get_current_account()


def test_a_reset_is_a_connection_error(emulator, client):
    emulator.inject_fault(ACCOUNT, {'kind': 'reset'})

    with pytest.raises(requests.exceptions.ConnectionError):
        client.users_get_current_account()


def test_faults_on_list_folder_too(emulator, client):
    emulator.inject_fault('/2/files/list_folder', {'kind': 'status', 'status': 502})

    with pytest.raises(InternalServerError):
        client.files_list_folder('')
    assert client.files_list_folder('').entries



def test_an_early_expiry_is_the_auth_error_dropbox_sends(emulator, tokens, client):
    # Without a refresh token the SDK still retries once before it gives up.
    emulator.inject_fault(ACCOUNT, {'kind': 'expired_access_token'}, times=2)
    bare = emulator.client(oauth2_access_token=tokens.access_token)
    with pytest.raises(AuthError) as raised:
        bare.users_get_current_account()
    assert raised.value.error.is_expired_access_token()

    # The SDK, holding a refresh token, refreshes on it and retries once, as on a real expiry.
    emulator.inject_fault(ACCOUNT, {'kind': 'expired_access_token'})
    emulator.adapter.calls.clear()
    assert client.users_get_current_account().email == 'bob@example.com'
    assert emulator.adapter.calls == [
        ('api.dropboxapi.com', ACCOUNT),
        ('api.dropboxapi.com', TOKEN),
        ('api.dropboxapi.com', ACCOUNT),
    ]
