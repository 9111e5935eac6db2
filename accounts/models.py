from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Email is the login (allauth); roles are Django groups."""

    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("name"), max_length=150, blank=True)  # shown on comments and ideas
    # The person's full name as a voter gives it: never shown to anyone else, used only (with the date
    # of birth and address given on the ballot) to find one person voting on two channels.
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    language = models.CharField(_("preferred language"), max_length=8, choices=settings.LANGUAGES, default="en")
    notifications_enabled = models.BooleanField(
        _("send me updates by email"),
        default=True,
        help_text=_("News about your ideas and the projects you follow. Account emails are always sent."),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]
        permissions = [("manage_roles", "Can appoint and remove staff roles")]

    def __str__(self):
        return self.display_name or self.email
