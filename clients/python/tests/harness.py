"""The real system for the client's tests: the Dropbox emulator (`node emulator/main.ts`) and
the connector (`node src/server.ts`, as `npm start` runs it), each a child process on loopback,
plus a plain-HTTP "browser" that walks the connect flow through the emulator's consent page."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parents[3]
ISSUER = "main-app-tests"
MAIN_KID = "main-app-test"
REPORTS_KID = "reports-test"
#: The Django example's return view; the browser's last redirect names it (loopback, so the
#: connector accepts plain http).
RETURN_URL = "http://localhost/cloud/return/"


def node_binary() -> str:
    """Node 24 from the project's `node` devDependency (the system one may be older)."""
    explicit = os.environ.get("CLOUD_CONNECTOR_NODE")
    if explicit:
        return explicit
    local = REPO / "node_modules" / ".bin" / "node"
    if local.exists():
        return str(local)
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("no node: run `npm ci` in the repository first")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _es256_jwk() -> Dict[str, str]:
    # Each member is the curve's full 32 bytes (RFC 7518, 6.2.1.2 and 6.2.2.1), as PyJWK requires.
    # Debian's PyJWT 2.6 `ECAlgorithm.to_jwk` drops leading zero bytes instead: 33 keys in 3,000
    # came out with a coordinate or `d` a byte short, and the tests that sign with one failed.
    numbers = ec.generate_private_key(ec.SECP256R1()).private_numbers()

    def member(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    return {
        "kty": "EC",
        "crv": "P-256",
        "x": member(numbers.public_numbers.x),
        "y": member(numbers.public_numbers.y),
        "d": member(numbers.private_value),
        "kid": REPORTS_KID,
        "alg": "ES256",
        "use": "sig",
    }


class _Child:
    def __init__(self, name: str, args: List[str], env: Dict[str, str]) -> None:
        self.name = name
        self.lines: List[str] = []
        self.process = subprocess.Popen(
            [node_binary(), *args],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not print {pattern!r}:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_ready(url: str, child: _Child, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited:\n{child.output()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready:\n{child.output()}")


@dataclass
class Stack:
    #: Where backends call `/v1` (the internal listener once it exists).
    api_url: str
    #: Where browsers go (`/connect`).
    public_url: str
    emulator_url: str
    signing_key_path: Path
    es256_jwk: Dict[str, str]
    children: List[_Child]
    workdir: Path

    def account_id(self, name: str) -> str:
        """The id of the emulator's standard account `name` (alice, bob, carol)."""
        response = requests.get(f"{self.emulator_url}/__emulator/state", timeout=10)
        response.raise_for_status()
        by_email = {a["email"]: a["accountId"] for a in response.json()["accounts"]}
        return by_email[f"{name}@example.com"]

    def control(self, method: str, **args: object) -> dict:
        """The emulator's control API (`/__emulator/<method>`)."""
        response = requests.post(f"{self.emulator_url}/__emulator/{method}", json=args, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_stack() -> Stack:
    workdir = Path(tempfile.mkdtemp(prefix="cloud-connector-py-"))
    children: List[_Child] = []
    try:
        # The main app's key pair exactly as an operator makes it: `npm run identity:keygen`.
        subprocess.run(
            [node_binary(), "src/identity/cli.ts", "keygen", MAIN_KID, "--out", str(workdir)],
            cwd=REPO, check=True, capture_output=True,
        )
        jwks = json.loads((workdir / "identity-jwks.json").read_text())
        es256 = _es256_jwk()
        jwks["keys"].append({k: v for k, v in es256.items() if k != "d"})
        (workdir / "jwks.json").write_text(json.dumps(jwks))

        public_port, internal_port = free_port(), free_port()
        public_url = f"http://127.0.0.1:{public_port}"
        emulator = _Child(
            "emulator",
            ["emulator/main.ts"],
            {
                "EMULATOR_PORT": "0",
                "EMULATOR_CONTENT_PORT": "0",
                "EMULATOR_REDIRECT_URIS": f"{public_url}/connect/callback",
            },
        )
        children.append(emulator)
        emulator_url = emulator.wait_for_line(r"listening on (http://\S+)").group(1)
        content_url = emulator.wait_for_line(r"content\s+(http://\S+)/2/").group(1)

        two_listeners = "INTERNAL_PORT" in (REPO / "src" / "config.ts").read_text()
        vault_key = base64.b64encode(os.urandom(32)).decode()
        connector = _Child(
            "connector",
            ["src/server.ts"],
            {
                "HOST": "127.0.0.1",
                "PORT": str(public_port),
                "INTERNAL_HOST": "127.0.0.1",
                "INTERNAL_PORT": str(internal_port),
                "PUBLIC_BASE_URL": public_url,
                "DATABASE_PATH": str(workdir / "connector.db"),
                "DATABASE_URL": "",
                "VAULT_KEYS": f"k1:{vault_key}",
                "IDENTITY_JWKS": str(workdir / "jwks.json"),
                "IDENTITY_ISSUER": ISSUER,
                # The Django example project's main app signs with the whole set; a "reports"
                # service may only read.
                "IDENTITY_CALLERS": json.dumps(
                    {
                        "main-app": {"kids": [MAIN_KID], "operations": ["*"]},
                        "reports": {"kids": [REPORTS_KID], "operations": ["me", "workspace.read"]},
                    }
                ),
                "DROPBOX_APP_KEY": "test-app-key",
                "DROPBOX_APP_SECRET": "test-app-secret",
                "DROPBOX_API_BASE_URL": emulator_url,
                "DROPBOX_CONTENT_BASE_URL": content_url,
                "DROPBOX_AUTHORIZE_URL": f"{emulator_url}/oauth2/authorize",
                "CONNECT_RETURN_URL": RETURN_URL,
                "UPSTREAM_TIMEOUT_MS": "3000",
                "LOG_LEVEL": "warn",
            },
        )
        children.append(connector)
        api_url = f"http://127.0.0.1:{internal_port}" if two_listeners else public_url
        _wait_ready(f"{public_url}/readyz", connector)
        _wait_ready(f"{api_url}/healthz", connector)
        return Stack(
            api_url=api_url,
            public_url=public_url,
            emulator_url=emulator_url,
            signing_key_path=workdir / "identity-private.jwk.json",
            es256_jwk=es256,
            children=children,
            workdir=workdir,
        )
    except BaseException:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: Optional[str] = None
        self.fields: Dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action") or ""
        elif tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"]] = values.get("value") or ""


class Browser:
    """A person's browser, in plain HTTP: follows the connect flow one redirect at a time."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=10)

    def consent(self, connect_url: str, account_id: str, decision: str = "allow") -> str:
        """Opens `connect_url`, answers the emulator's consent page, returns where the
        connector finally sends the browser (the main app's return URL with its query)."""
        to_dropbox = self.get(connect_url)
        assert to_dropbox.status_code == 302, to_dropbox.text
        authorize_url = to_dropbox.headers["Location"]
        page = self.get(authorize_url)
        assert page.status_code == 200, page.text
        form = _FormReader()
        form.feed(page.text)
        assert form.action is not None, "the consent page has no form"
        fields = {**form.fields, "account_id": account_id, "decision": decision}
        answer = self.http.post(
            urljoin(authorize_url, form.action), data=fields, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        back = self.get(answer.headers["Location"])
        assert back.status_code == 303, back.text
        return back.headers["Location"]


def return_query(return_url: str) -> Dict[str, str]:
    """The return URL's parameters (`session`, `status`, `completion`, `error`)."""
    assert return_url.startswith(RETURN_URL), return_url
    return {key: values[0] for key, values in parse_qs(urlsplit(return_url).query).items()}
