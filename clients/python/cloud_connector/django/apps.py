from django.apps import AppConfig


class CloudConnectorConfig(AppConfig):
    name = "cloud_connector.django"
    # Not "django": the label names the app in URLs' namespaces, templates and messages.
    label = "cloud_connector"
    verbose_name = "Cloud connector"
