"""Django integration (contract §12): add the app, one `include()`, and call
`get_cloud_client(request.user)`.

    INSTALLED_APPS = [..., "django.contrib.messages", "cloud_connector.django"]
    CLOUD_CONNECTOR = {
        "URL": "http://cloud-connector:8081",       # the connector's internal listener (/v1)
        "SIGNING_KEY": "/run/secrets/identity-private.jwk.json",  # or the JWK as JSON / a dict
        "ISSUER": "main-app",                       # the connector's IDENTITY_ISSUER
    }
    urlpatterns = [..., path("cloud/", include("cloud_connector.django.urls"))]
    # and the connector's CONNECT_RETURN_URL = https://<this site>/cloud/return/
"""

from .conf import get_cloud_client, get_connector

__all__ = ["get_cloud_client", "get_connector"]
