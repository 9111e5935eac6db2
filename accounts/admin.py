from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group

from .models import User

# Roles are the groups of accounts/roles.py, kept in step by ``roles_sync``; they are not edited here.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name", "full_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # Roles are appointed on the staff roles page, with a reason and an audit event; admin access and
    # superuser status with the ``createadmin``/``createsuperuser`` commands. Here they are only shown.
    # The full name feeds duplicate matching: only its owner changes it, through the audited service.
    readonly_fields = ("full_name", "is_staff", "is_superuser", "groups")
