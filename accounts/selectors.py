from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.db.models import Prefetch

from .models import User
from .roles import STAFF_ROLES, Role


@dataclass(frozen=True)
class StaffMember:
    user: User
    roles: list[Role]  # in the order of STAFF_ROLES
    has_totp: bool


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=(email or "").strip()).first()


def staff_members() -> list[StaffMember]:
    """Every account holding a staff role, by email, with its staff roles and whether TOTP is set up."""
    names = [role.value for role in STAFF_ROLES]
    users = (
        User.objects.filter(groups__name__in=names).distinct().order_by("email").prefetch_related(Prefetch("groups"))
    )
    with_totp = set(
        Authenticator.objects.filter(type=Authenticator.Type.TOTP, user__in=users).values_list("user_id", flat=True)
    )
    members = []
    for user in users:
        held = {group.name for group in user.groups.all()}
        members.append(
            StaffMember(user=user, roles=[r for r in STAFF_ROLES if r.value in held], has_totp=user.pk in with_totp)
        )
    return members
