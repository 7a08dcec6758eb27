from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from cloud_connector import CloudAuthError, CloudConnectorError, InvalidPath, PathNotFound
from cloud_connector.django import get_cloud_client


@login_required
def home(request):
    client = get_cloud_client(request.user)
    path = request.GET.get("path", "")
    context = {"path": path}
    try:
        context["connection"] = connection = client.connection()
        if connection.is_connected:
            context["account"] = client.me()
            context["listing"] = client.list_folder(path, limit=100)
    except CloudAuthError:
        pass  # Dropbox revoked the grant since: the page offers Connect
    except (InvalidPath, PathNotFound) as error:
        context["problem"] = error.detail
    except CloudConnectorError:
        context["problem"] = "Dropbox is not available right now."
    return render(request, "home.html", context)
