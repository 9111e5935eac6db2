from django.apps import AppConfig


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = "Ideas and projects"

    def ready(self):
        from . import demo

        demo.register()
