from allauth.account.adapter import DefaultAccountAdapter

from .roles import Role
from .services import user_add_role


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # Everyone who signs up is a resident.
            user_add_role(user=user, role=Role.RESIDENT, actor=None)
        return user
