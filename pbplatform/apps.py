from django.apps import AppConfig


class PbplatformConfig(AppConfig):
    """The project itself, last in INSTALLED_APPS: once every app is ready, it wires the phase
    machine, the answers lower apps get from higher ones, and the demo (pbplatform/wiring.py)."""

    name = "pbplatform"
    verbose_name = "pbplatform"

    def ready(self):
        from .wiring import wire  # imports every app's services: only once the apps are loaded

        wire()
