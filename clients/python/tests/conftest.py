import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package, uninstalled

from cloud_connector import CloudConnector, IdentitySigner  # noqa: E402
from harness import ISSUER, Browser, return_query, start_stack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    running = start_stack()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def signer(stack):
    # The private JWK file exactly as `npm run identity:keygen -- --out DIR` wrote it.
    return IdentitySigner(stack.signing_key_path, issuer=ISSUER)


@pytest.fixture(scope="session")
def connector(stack, signer):
    client = CloudConnector(stack.api_url, signer, timeout=10)
    yield client
    client.close()


@pytest.fixture
def user_id():
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def connect(stack):
    """The whole connect flow for a user client: start, consent in a browser, complete."""

    def run(client, account_id=None):
        session = client.start_connect()
        account = account_id or stack.account_id("alice")
        query = return_query(Browser().consent(session.connect_url, account))
        assert query["status"] == "authorized"
        assert query["session"] == session.id
        return client.complete(query["session"], query.get("completion"))

    return run
