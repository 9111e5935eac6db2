from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Django's idiom: the receivers' module imports the models, which can be imported only once
        # every app is loaded, so not at the top of this module.
        from . import signals  # noqa: F401 - connects the receivers


class AdminConfig(admin_apps.AdminConfig):
    """The Django admin, on a site that asks for the same second factor as the staff areas."""

    default = False  # "accounts" in INSTALLED_APPS is AccountsConfig

    default_site = "accounts.admin_site.MFAAdminSite"
