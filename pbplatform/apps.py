from django.apps import AppConfig


class PbplatformConfig(AppConfig):
    """The project itself, last in INSTALLED_APPS: once every app is ready, it wires the phase
    machine (pbplatform/wiring.py)."""

    name = "pbplatform"
    verbose_name = "pbplatform"

    def ready(self):
        from .wiring import phases_wire  # imports every app's services: only once the apps are loaded

        phases_wire()
