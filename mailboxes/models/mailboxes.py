"""Mailboxes, who may use them (delegations), and how we reach them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    pass

from mailboxes.models.people import Structure, User


class Mailbox(models.Model):
    """An MSSanté mailbox (BAL) held at the operator. Types from TRE_R257-TypeBAL."""

    class Kind(models.TextChoices):
        PERSONAL = "PER", _("Personal")
        ORGANISATIONAL = "ORG", _("Organisational")
        APPLICATIVE = "APP", _("Applicative")
        PRACTICE = "CAB", _("Practice")

    # What the person asking may do here (access.Action values), set by
    # access.mailbox_or_404 from its one role look-up: pages read it instead of asking again.
    allowed: frozenset[str] = frozenset()

    address = models.EmailField(_("address"), unique=True)
    kind = models.CharField(_("kind"), max_length=3, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=200, blank=True)
    structure = models.ForeignKey(
        Structure, on_delete=models.PROTECT, null=True, blank=True, related_name="mailboxes"
    )
    owner = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_mailboxes",
        help_text=_("The professional who owns a personal mailbox; empty for the others."),
    )

    class Access(models.TextChoices):
        DEFAULT = "", _("Operator default")
        MASTER = "master", _("Trusted webmail (master user)")
        XOAUTH2 = "xoauth2", _("Person's Pro Santé Connect token (XOAUTH2)")
        CREDENTIAL = "credential", _("Stored mailbox password")

    access = models.CharField(
        _("operator access"), max_length=16, choices=Access.choices, blank=True, default=""
    )
    signature = models.TextField(_("signature"), blank=True, max_length=2000)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering: ClassVar = ["address"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(kind="ORG", owner__isnull=True) | ~models.Q(kind="ORG"),
                name="mailbox_org_has_no_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.address

    def save(self, *args: object, **kwargs: object) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class DelegationQuerySet(models.QuerySet["Delegation"]):
    def active(self, at: datetime | None = None) -> DelegationQuerySet:
        """In force at `at` (now by default): started, not expired (NULL = no expiry), not
        revoked. Checked on every request, so expiry and revocation apply at the next click."""
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, starts_at__lte=at).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at)
        )


class Delegation(models.Model):
    """A person's role on a mailbox they do not own, granted by one of its managers."""

    class Role(models.TextChoices):
        READER = "reader", pgettext_lazy("delegation role", "Reader")
        TRIAGE = "triage", pgettext_lazy("delegation role", "Triage")
        SENDER = "sender", pgettext_lazy("delegation role", "Sender")
        MANAGER = "manager", pgettext_lazy("delegation role", "Manager")

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="delegations")
    mailbox = models.ForeignKey("Mailbox", on_delete=models.CASCADE, related_name="delegations")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    starts_at = models.DateTimeField(_("from"), default=timezone.now)
    expires_at = models.DateTimeField(_("until"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = DelegationQuerySet.as_manager()

    class Meta:
        verbose_name = _("delegation")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["person", "mailbox"],
                condition=models.Q(revoked_at__isnull=True),
                name="delegation_one_open_per_person_and_mailbox",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.role} {self.mailbox}"


class Notification(models.Model):
    """A message to a person inside the app (delegation granted, changed, revoked)."""

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created"]

    def __str__(self) -> str:
        return self.text


class Invitation(models.Model):
    """A link that lets a person set a password and enrol a one-time-code app.

    Only a digest of the token is stored. An invitation only ever sets up an account that has
    never been set up (`account`, made when access was granted to a new address, or a new one
    made on acceptance): it never takes over an account that already has a way in
    (webmail/auth/local.py). Using one closes every other open invitation to the address.
    """

    email = models.EmailField(_("e-mail address"))
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    structure = models.ForeignKey(
        Structure, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    account = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")

    def __str__(self) -> str:
        return self.email


class MailboxCredential(models.Model):
    """A mailbox's own password at the operator, encrypted (mailboxes/operator/credentials.py)."""

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="credential")
    login = models.CharField(max_length=254, blank=True, help_text=_("Empty: the address."))
    secret = models.TextField(help_text=_("Fernet token; never the clear password."))
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.login or self.mailbox.address
