from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    # The integration: connect, return (the connector's CONNECT_RETURN_URL) and disconnect.
    path("cloud/", include("cloud_connector.django.urls")),
]
