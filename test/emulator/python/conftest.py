"""
Drives the Dropbox emulator with Dropbox's official Python SDK (Debian's python3-dropbox).

The SDK validates every request and answer against Dropbox's own API specification (stone),
field by field, where the JavaScript SDK parses JSON without looking. Nothing here relaxes or
patches a validator: the SDK talks to its usual https://api.dropboxapi.com,
https://content.dropboxapi.com and https://www.dropbox.com/oauth2 addresses, and a requests
transport adapter carries those calls, unchanged, to the emulator over loopback HTTP.
"""

import os
import secrets
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import dropbox
import pytest
import requests
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[3]
APP_KEY = 'test-app-key'
APP_SECRET = 'test-app-secret'
REDIRECT_URI = 'http://localhost:8080/connect/callback'
SCOPES = ['account_info.read', 'files.metadata.read']
#: Where the SDK sends its calls (dropbox/session.py); anything else is a bug in the test.
DROPBOX_HOSTS = {
    'api.dropboxapi.com': ('/2/', '/oauth2/token'),
    'content.dropboxapi.com': ('/2/',),
    'www.dropbox.com': ('/oauth2/',),
}


class EmulatorAdapter(HTTPAdapter):
    """
    Sends https://<dropbox host>/<path> to the emulator's port for that host (the content host
    has its own), path and query unchanged; records (host, path).
    """

    def __init__(self, api_url, content_url):
        super().__init__()
        api = urlsplit(api_url).netloc
        self.netlocs = {
            'api.dropboxapi.com': api,
            'www.dropbox.com': api,
            'content.dropboxapi.com': urlsplit(content_url).netloc,
        }
        self.calls = []

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        prefixes = DROPBOX_HOSTS.get(parts.hostname)
        if parts.scheme != 'https' or prefixes is None or not parts.path.startswith(prefixes):
            raise AssertionError(f'the SDK called an unexpected address: {request.url}')
        self.calls.append((parts.hostname, parts.path))
        netloc = self.netlocs[parts.hostname]
        request.url = urlunsplit(('http', netloc, parts.path, parts.query, ''))
        return super().send(request, **kwargs)


class Emulator:
    """One `node emulator/main.ts` process and its control API (`/__emulator/*`)."""

    def __init__(self, url):
        self.url = url
        self.content_url = self.state()['contentUrl']
        self.adapter = EmulatorAdapter(url, self.content_url)
        self.session = requests.Session()
        self.session.mount('https://', self.adapter)
        self.session.mount('http://', _refuse_plain_http)

    def control(self, method, **args):
        answer = requests.post(f'{self.url}/__emulator/{method}', json=args, timeout=10)
        if answer.status_code != 200:
            raise AssertionError(f'emulator {method}: {answer.status_code} {answer.text}')
        return answer.json()

    def state(self):
        return requests.get(f'{self.url}/__emulator/state', timeout=10).json()

    def account_id(self, email):
        """A standard account's id, as the emulator exports it (never a literal here)."""
        for account in self.state()['accounts']:
            if account['email'] == email:
                return account['accountId']
        raise AssertionError(f'no seeded account {email}')

    def seed_account(self, name, **extra):
        """A fresh personal account for a test that changes state; returns its id."""
        account_id = new_account_id()
        self.control(
            'seed-account',
            accountId=account_id,
            email=f'{name}@example.com',
            givenName=name.capitalize(),
            surname='Example',
            homeNamespaceId=str(10_000 + secrets.randbelow(10**8)),
            **extra,
        )
        return account_id

    def inject_fault(self, route, fault, times=1):
        self.control('inject-fault', route=route, fault=fault, times=times)

    def authorize(self, authorize_url, account_id, decision='allow'):
        """The user's browser on the consent page; returns the redirect's query parameters."""
        location = self.control(
            'consent', authorizeUrl=authorize_url, accountId=account_id, decision=decision
        )['location']
        query = urlsplit(location).query if '://' in location else location
        return {name: values[0] for name, values in parse_qs(query).items()}

    def connect(self, account_id, scope=None, access_type='offline'):
        """PKCE without a redirect, as a desktop app does; returns the SDK's flow result."""
        flow = dropbox.DropboxOAuth2FlowNoRedirect(
            APP_KEY, use_pkce=True, token_access_type=access_type, scope=scope or SCOPES
        )
        flow.requests_session = self.session
        params = self.authorize(flow.start(), account_id)
        return flow.finish(params['code'])

    def client(self, result=None, **options):
        """A Dropbox client over the emulator that never retries unless told to."""
        settings = {'max_retries_on_error': 0, 'max_retries_on_rate_limit': 0, 'timeout': 10}
        if result is not None:
            settings.update(
                oauth2_access_token=result.access_token,
                oauth2_refresh_token=result.refresh_token or None,
                oauth2_access_token_expiration=result.expires_at,
                app_key=APP_KEY,
            )
        settings.update(options)
        return dropbox.Dropbox(session=self.session, **settings)


class _RefusePlainHttp(HTTPAdapter):
    def send(self, request, **kwargs):
        raise AssertionError(f'the SDK called a plain-http address: {request.url}')


_refuse_plain_http = _RefusePlainHttp()


def new_account_id():
    """`dbid:` and 35 characters, as Dropbox's ids (users_common.stone AccountId)."""
    return 'dbid:AA' + secrets.token_urlsafe(33)[:33]


def node_binary():
    """Node 24 from the `node` devDependency (the system's may be older)."""
    local = REPO / 'node_modules' / '.bin' / 'node'
    if local.exists():
        return str(local)
    raise RuntimeError('node_modules/.bin/node is missing: run `npm ci` first')


@pytest.fixture(scope='module')
def emulator():
    """A fresh emulator per test module: modules may move accounts into teams, revoke, …"""
    env = {
        **os.environ,
        'EMULATOR_PORT': '0',
        'EMULATOR_CONTENT_PORT': '0',
        'EMULATOR_HOST': '127.0.0.1',
    }
    process = subprocess.Popen(
        [node_binary(), 'emulator/main.ts'],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        # Inherited: an emulator crash shows in pytest's output.
        stderr=None,
        text=True,
    )
    try:
        url = _listening_url(process)
        yield Emulator(url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _listening_url(process):
    deadline = time.monotonic() + 30
    marker = 'Dropbox emulator listening on '
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith(marker):
                # The rest of the banner is not needed; keep the pipe from filling up.
                threading.Thread(target=process.stdout.read, daemon=True).start()
                return line[len(marker) :].strip()
            if line == '':
                break
    process.kill()
    raise RuntimeError('the emulator did not start (its error is above)')

