"""factory_boy factories. Cycles come with traits per phase; transitions in tests go through
the services, but a test that needs a cycle *in* a phase may start it there."""

from datetime import timedelta
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from accounts.roles import MFA_REQUIRED_ROLES, Role
from budgets.models import Cycle, District
from budgets.phases import Phase


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    display_name = factory.Faker("name")
    full_name = factory.LazyAttribute(lambda user: user.display_name)
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def user_with_role(role: str, *, mfa: bool = True, **kwargs) -> User:
    """A user in the resident group plus ``role``; staff roles get a TOTP authenticator
    (``user.totp_secret``) unless ``mfa=False``."""
    return role_add(UserFactory(**kwargs), role, mfa=mfa)


def role_add(user: User, role: str, *, mfa: bool = True) -> User:
    """Put an existing ``user`` in the resident group plus ``role``, as ``user_with_role`` does."""
    user.groups.add(*Group.objects.filter(name__in={Role.RESIDENT.value, role}))
    user.totp_secret = None
    if mfa and Role(role) in MFA_REQUIRED_ROLES:
        user.totp_secret = generate_totp_secret()
        TOTP.activate(user, user.totp_secret)
    return user


class CycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cycle
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Test PB {n}")
    slug = factory.Sequence(lambda n: f"test-pb-{n}")
    time_zone = "America/New_York"
    currency = "USD"
    phase = Phase.DRAFT

    class Params:
        ideas = factory.Trait(phase=Phase.IDEAS)
        vetting = factory.Trait(phase=Phase.VETTING)
        voting = factory.Trait(
            phase=Phase.VOTING,
            voting_open_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=1)),
            voting_close_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=7)),
        )
        counting = factory.Trait(phase=Phase.COUNTING)
        results = factory.Trait(phase=Phase.RESULTS)

    @factory.post_generation
    def wards(obj, create, extracted, **kwargs):
        if not create:
            return
        codes = "ABCDEF" if extracted is None else extracted
        for code in codes:
            DistrictFactory(cycle=obj, code=code, name=f"Ward {code}")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    cycle = factory.SubFactory(CycleFactory, wards="")
    code = factory.Sequence(lambda n: f"W{n}")
    name = factory.LazyAttribute(lambda d: f"Ward {d.code}")
    kind = District.Kind.WARD
    budget = Decimal("50000.00")
