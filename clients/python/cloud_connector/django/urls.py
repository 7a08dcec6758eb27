"""`path("cloud/", include("cloud_connector.django.urls"))`; the connector's
`CONNECT_RETURN_URL` is then `https://<this site>/cloud/return/`."""

from django.urls import path

from . import views

app_name = "cloud_connector"

urlpatterns = [
    path("connect/", views.connect, name="connect"),
    path("return/", views.connect_return, name="return"),
    path("disconnect/", views.disconnect, name="disconnect"),
]
