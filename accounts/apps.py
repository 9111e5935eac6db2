from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import m2m_changed, post_migrate, post_save, pre_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from .models import User
        from .roles import roles_sync_on_migrate
        from .signals import GROUPS_THROUGH, user_access_after_save, user_access_before_save, user_groups_changed

        post_migrate.connect(roles_sync_on_migrate, dispatch_uid="accounts.roles_sync")
        m2m_changed.connect(user_groups_changed, sender=GROUPS_THROUGH, dispatch_uid="accounts.groups_audit")
        pre_save.connect(user_access_before_save, sender=User, dispatch_uid="accounts.access_before")
        post_save.connect(user_access_after_save, sender=User, dispatch_uid="accounts.access_audit")


class AdminConfig(admin_apps.AdminConfig):
    """The Django admin, on a site that asks for the same second factor as the staff areas."""

    default = False  # "accounts" in INSTALLED_APPS is AccountsConfig

    default_site = "accounts.admin_site.MFAAdminSite"
