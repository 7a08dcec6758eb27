"""OAuth through the SDK: the code exchange (PKCE and secret), refresh, revoke, and their errors."""

from datetime import datetime, timedelta

import dropbox
import pytest
import requests
from conftest import APP_KEY, APP_SECRET, REDIRECT_URI, SCOPES
from dropbox.exceptions import AuthError, BadInputError


def test_pkce_exchange_without_redirect_gives_a_40_character_account_id(emulator):
    alice = emulator.account_id('alice@example.com')
    result = emulator.connect(alice)

    assert result.account_id == alice
    assert len(result.account_id) == 40 and result.account_id.startswith('dbid:')
    assert result.user_id.isdigit()
    assert result.refresh_token
    assert sorted(result.scope.split(' ')) == sorted(SCOPES)
    assert result.expires_at > datetime.utcnow() + timedelta(hours=3)
    assert ('api.dropboxapi.com', '/oauth2/token') in emulator.adapter.calls
    account = emulator.client(result).users_get_current_account()
    assert account.account_id == alice


def test_redirect_flow_keeps_the_url_state_and_checks_csrf(emulator):
    bob = emulator.account_id('bob@example.com')
    web_session = {}
    flow = dropbox.DropboxOAuth2Flow(
        APP_KEY,
        REDIRECT_URI,
        web_session,
        'dropbox-csrf',
        use_pkce=True,
        token_access_type='offline',
        scope=SCOPES,
    )
    flow.requests_session = emulator.session
    query = emulator.authorize(flow.start('back-to=/settings'), bob)

    result = flow.finish(query)

    assert result.account_id == bob
    assert result.url_state == 'back-to=/settings'
    assert 'dropbox-csrf' not in web_session


def test_denied_consent_is_not_approved(emulator):
    flow = dropbox.DropboxOAuth2Flow(
        APP_KEY, REDIRECT_URI, {}, 'csrf', use_pkce=True, token_access_type='offline'
    )
    flow.requests_session = emulator.session
    query = emulator.authorize(flow.start(), emulator.account_id('bob@example.com'), 'deny')

    with pytest.raises(dropbox.oauth.NotApprovedException):
        flow.finish(query)


def test_confidential_client_exchanges_with_its_secret(emulator):
    dave = emulator.account_id('dave@example.com')
    flow = dropbox.DropboxOAuth2FlowNoRedirect(
        APP_KEY, consumer_secret=APP_SECRET, token_access_type='offline', scope=SCOPES
    )
    flow.requests_session = emulator.session
    result = flow.finish(emulator.authorize(flow.start(), dave)['code'])

    assert result.account_id == dave
    client = emulator.client(result, app_secret=APP_SECRET)
    assert client.users_get_current_account().email == 'dave@example.com'


def test_the_flow_locale_reaches_the_token_endpoint_and_is_accepted(emulator):
    flow = dropbox.DropboxOAuth2FlowNoRedirect(
        APP_KEY, use_pkce=True, token_access_type='offline', locale='de'
    )
    flow.requests_session = emulator.session
    carol = emulator.account_id('carol@example.com')

    assert flow.finish(emulator.authorize(flow.start(), carol)['code']).account_id == carol


def test_online_access_has_no_refresh_token(emulator):
    result = emulator.connect(emulator.account_id('alice@example.com'), access_type='online')

    assert result.refresh_token == ''
    assert result.expires_at is not None


def test_a_code_answers_once(emulator):
    flow = dropbox.DropboxOAuth2FlowNoRedirect(APP_KEY, use_pkce=True)
    flow.requests_session = emulator.session
    code = emulator.authorize(flow.start(), emulator.account_id('alice@example.com'))['code']
    flow.finish(code)

    # The SDK's finish() raises requests' HTTPError for the 400 invalid_grant.
    with pytest.raises(requests.HTTPError) as raised:
        flow.finish(code)
    assert raised.value.response.status_code == 400
    assert raised.value.response.json()['error'] == 'invalid_grant'


def test_an_expired_token_is_refreshed_by_the_sdk_before_the_call(emulator):
    result = emulator.connect(emulator.account_id('alice@example.com'))
    client = emulator.client(
        result, oauth2_access_token_expiration=datetime.utcnow() - timedelta(seconds=1)
    )
    emulator.adapter.calls.clear()

    assert client.users_get_current_account().account_id == result.account_id
    assert emulator.adapter.calls == [
        ('api.dropboxapi.com', '/oauth2/token'),
        ('api.dropboxapi.com', '/2/users/get_current_account'),
    ]


def test_a_token_expired_by_dropbox_is_an_auth_error_and_the_sdk_refreshes_on_it(emulator):
    account_id = emulator.seed_account('erin')
    result = emulator.connect(account_id)
    emulator.control('expire-access-tokens', accountId=account_id)

    bare = emulator.client(oauth2_access_token=result.access_token)
    with pytest.raises(AuthError) as raised:
        bare.users_get_current_account()
    assert raised.value.error.is_expired_access_token()

    # With a refresh token the SDK refreshes on expired_access_token and retries once.
    emulator.adapter.calls.clear()
    assert emulator.client(result).users_get_current_account().account_id == account_id
    assert emulator.adapter.calls == [
        ('api.dropboxapi.com', '/2/users/get_current_account'),
        ('api.dropboxapi.com', '/oauth2/token'),
        ('api.dropboxapi.com', '/2/users/get_current_account'),
    ]


def test_refresh_to_fewer_scopes_then_a_call_needs_the_missing_one(emulator):
    client = emulator.client(emulator.connect(emulator.account_id('bob@example.com')))
    client.refresh_access_token(scope=['files.metadata.read'])

    assert client.files_list_folder('').entries
    with pytest.raises(AuthError) as raised:
        client.users_get_current_account()
    assert raised.value.error.is_missing_scope()
    assert raised.value.error.get_missing_scope().required_scope == 'account_info.read'


def test_refresh_to_a_scope_never_granted_is_bad_input(emulator):
    client = emulator.client(emulator.connect(emulator.account_id('bob@example.com')))

    with pytest.raises(BadInputError) as raised:
        client.refresh_access_token(scope=['files.content.write'])
    assert 'invalid_scope' in raised.value.message


def test_revoke_kills_the_token_and_its_refresh_token(emulator):
    client = emulator.client(emulator.connect(emulator.account_id('dave@example.com')))

    assert client.auth_token_revoke() is None
    with pytest.raises(AuthError) as raised:
        client.users_get_current_account()
    assert raised.value.error.is_invalid_access_token()
    # The token endpoint's 400 invalid_grant: the SDK reports it as invalid_access_token.
    with pytest.raises(AuthError) as raised:
        client.refresh_access_token()
    assert raised.value.error.is_invalid_access_token()
    # Revoking again: the token is already dead.
    with pytest.raises(AuthError) as raised:
        client.auth_token_revoke()
    assert raised.value.error.is_invalid_access_token()


def test_refresh_tokens_revoked_by_dropbox_cannot_refresh(emulator):
    account_id = emulator.seed_account('frank')
    client = emulator.client(emulator.connect(account_id))
    emulator.control('revoke-refresh-tokens', accountId=account_id)

    with pytest.raises(AuthError) as raised:
        client.refresh_access_token()
    assert raised.value.error.is_invalid_access_token()


def test_an_unknown_token_is_invalid(emulator):
    client = emulator.client(oauth2_access_token='sl.not-a-token-dropbox-ever-issued')

    with pytest.raises(AuthError) as raised:
        client.users_get_current_account()
    assert raised.value.error.is_invalid_access_token()


def test_app_auth_reaches_list_folder_only_for_shared_links(emulator):
    app = emulator.client(app_key=APP_KEY, app_secret=APP_SECRET)
    with pytest.raises(AuthError) as raised:
        app.files_list_folder('')
    assert raised.value.error.is_missing_scope()
    assert emulator.adapter.calls[-1] == ('api.dropboxapi.com', '/2/files/list_folder')

    wrong = emulator.client(app_key=APP_KEY, app_secret='not-the-secret')
    with pytest.raises(AuthError) as raised:
        wrong.files_list_folder('')
    assert raised.value.error.is_invalid_access_token()
