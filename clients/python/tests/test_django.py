"""The Django integration in the example project (clients/python/example), driven with Django's
test client against the real connector and emulator: connect, return, list, disconnect."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness import RETURN_URL, Browser

EXAMPLE = Path(__file__).resolve().parents[1] / "example"


@pytest.fixture(scope="module")
def django_site(stack, tmp_path_factory):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="example_site.settings",
        EXAMPLE_DATABASE=str(tmp_path_factory.mktemp("django") / "db.sqlite3"),
        CLOUD_CONNECTOR_URL=stack.api_url,
        CLOUD_CONNECTOR_SIGNING_KEY=str(stack.signing_key_path),
        CLOUD_CONNECTOR_ISSUER="main-app-tests",
    )
    sys.path.insert(0, str(EXAMPLE))
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    yield
    sys.path.remove(str(EXAMPLE))


def signed_in(username):
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(username=username)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_post(client, url):
    """A POST as the page's form sends it: with the CSRF token from the home page."""
    page = client.get("/")
    assert page.status_code == 200
    return client.post(url, {"csrfmiddlewaretoken": page.context["csrf_token"]})


def page_messages(response):
    return [str(message) for message in response.context["messages"]]


def back_to_main_app(client, return_url):
    """The browser's last redirect lands on the Django return view; follow it in the client."""
    assert return_url.startswith(RETURN_URL), return_url
    parts = urlsplit(return_url)
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def start_connect(client):
    response = csrf_post(client, "/cloud/connect/")
    assert response.status_code == 302
    return response["Location"]


def test_the_connect_journey_end_to_end(django_site, user_id, stack):
    client = signed_in(user_id)
    home = client.get("/")
    assert b"Dropbox is not connected." in home.content

    connect_url = start_connect(client)
    return_url = Browser().consent(connect_url, stack.account_id("alice"))
    landed_page = back_to_main_app(client, return_url)
    assert landed_page.redirect_chain[-1][0] == "/"
    assert page_messages(landed_page) == ["Your Dropbox is connected."]
    assert b"Connected as Alice Example" in landed_page.content
    assert b"Office/" in landed_page.content and b"Big/" in landed_page.content

    office = client.get("/", {"path": "Office"})
    assert b"notes.txt (512 bytes)" in office.content
    assert b"could not" not in client.get("/", {"path": "Big"}).content

    gone = csrf_post(client, "/cloud/disconnect/")
    assert gone.status_code == 302 and gone["Location"] == "/"
    after = client.get("/")
    assert page_messages(after) == ["Your Dropbox is disconnected."]
    assert b"Dropbox is not connected." in after.content


def test_state_changes_need_post_and_the_csrf_token(django_site, user_id):
    client = signed_in(user_id)
    assert client.post("/cloud/connect/").status_code == 403  # no CSRF token
    assert client.post("/cloud/disconnect/").status_code == 403
    assert client.get("/cloud/connect/").status_code == 405
    assert client.get("/cloud/disconnect/").status_code == 405


def test_signed_out_visitors_are_sent_to_sign_in(django_site):
    from django.test import Client

    response = Client().get("/cloud/return/?session=x&status=authorized&completion=y")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_link_finished_by_another_user_connects_nothing(django_site, user_id, stack):
    starter, other = signed_in(user_id), signed_in(user_id + "-other")
    return_url = Browser().consent(start_connect(starter), stack.account_id("alice"))
    landed_page = back_to_main_app(other, return_url)
    assert page_messages(landed_page) == [
        "This Dropbox connection was started by another user, not by the one signed in now. "
        "For your safety nothing was connected and the link was cancelled."
    ]
    assert b"Dropbox is not connected." in landed_page.content
    # The starter cannot use the cancelled link either.
    again = back_to_main_app(starter, return_url)
    assert page_messages(again) == ["This connection attempt was already used or is unknown. Please try again."]


def test_a_return_url_with_a_wrong_completion_connects_nothing(django_site, user_id, stack):
    client = signed_in(user_id)
    return_url = Browser().consent(start_connect(client), stack.account_id("alice"))
    tampered = return_url.replace("completion=", "completion=x")
    landed_page = back_to_main_app(client, tampered)
    assert page_messages(landed_page) == [
        "This Dropbox connection could not be confirmed for this browser. "
        "For your safety nothing was connected. Please start again."
    ]


def test_a_cancelled_consent_says_so(django_site, user_id, stack):
    client = signed_in(user_id)
    return_url = Browser().consent(start_connect(client), stack.account_id("alice"), decision="deny")
    landed_page = back_to_main_app(client, return_url)
    assert page_messages(landed_page) == ["You cancelled the Dropbox authorization, so nothing was connected."]


def test_an_error_code_is_shown_only_when_it_is_a_code(django_site, user_id):
    client = signed_in(user_id)
    shown = client.get("/cloud/return/", {"status": "error", "error": "server_error"}, follow=True)
    assert page_messages(shown) == ["Dropbox reported an error (server_error). Nothing was connected."]
    hidden = client.get("/cloud/return/", {"status": "error", "error": "<b>hi</b>"}, follow=True)
    assert page_messages(hidden) == ["Dropbox reported an error (unknown). Nothing was connected."]


def test_an_expired_session_says_so(django_site, user_id, stack):
    client = signed_in(user_id)
    connect_url = start_connect(client)
    return_url = Browser().consent(connect_url, stack.account_id("alice"))
    # Dropbox refusing the code (here: the emulator forgot it) is a 410 session_expired.
    stack.control("advance-clock", seconds=3600)
    landed_page = back_to_main_app(client, return_url)
    assert page_messages(landed_page) == ["The connection attempt took too long and expired. Please try again."]
