from django.apps import AppConfig


class DataioConfig(AppConfig):
    name = "smarketing.dataio"
    label = "dataio"
