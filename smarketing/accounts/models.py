from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class TeamKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    REVOPS = "revops", "RevOps / Admin"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"
    READ_ONLY = "readonly", "Read-only"


class Team(models.Model):
    """A group of users: marketing, sales or revops."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=TeamKind.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    def create_user(self, email, password=None, **extra):
        email = self.normalize_email(email).strip().lower()
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with email and password; belongs to one team and holds one role."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Weekly working hours for scheduling (not read yet): {"mon": [["09:00", "17:00"]], ...}; see accounts.hours.
    working_hours = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_invited(self) -> bool:
        """Invited but has not set a password yet (an invitation leaves the password unusable)."""
        return self.is_active and self.last_login is None and not self.has_usable_password()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        parts = (self.full_name or self.email).replace("@", " ").split()
        return "".join(p[0] for p in parts[:2]).upper()
