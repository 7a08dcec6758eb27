"""A minimal Django project with the cloud-connector integration: the app, the settings dict,
one include() in urls.py, and a page that calls get_cloud_client(request.user)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "cloud_connector.django",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DATABASE", str(BASE_DIR.parent / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
LOGIN_URL = "login"

# The connector: its internal listener, the private JWK from `npm run identity:keygen -- --out DIR`
# and the IDENTITY_ISSUER it expects. Its CONNECT_RETURN_URL is http://localhost:8000/cloud/return/.
CLOUD_CONNECTOR = {
    "URL": os.environ.get("CLOUD_CONNECTOR_URL", "http://localhost:8081"),
    "SIGNING_KEY": os.environ.get("CLOUD_CONNECTOR_SIGNING_KEY", "identity-private.jwk.json"),
    "ISSUER": os.environ.get("CLOUD_CONNECTOR_ISSUER", "main-app"),
}
