"""The domain: people, structures, mailboxes and the audit trail.

Mail itself stays at the operator (IMAP/SMTP); these tables say who may do what.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from django.db.models import QuerySet


class User(AbstractUser):
    """A person: a health professional (Pro Santé Connect) or staff with a local account.

    Professionals are keyed by `subject_name_id`, PSC's national identifier (8 + RPPS, or
    0 + ADELI), never by PSC's opaque `sub`. NULL for local accounts without e-CPS.
    """

    subject_name_id = models.CharField(
        _("national identifier (SubjectNameID)"), max_length=32, unique=True, null=True, blank=True
    )
    # Password logins: consecutive failures (password or code) and the lock they lead to.
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager[User]] = UserManager()

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Structure(models.Model):
    """A legal or organisational unit that owns organisational mailboxes."""

    class Kind(models.TextChoices):
        PRACTICE = "practice", _("Practice")
        PHARMACY = "pharmacy", _("Pharmacy")
        HOSPITAL_SERVICE = "hospital_service", _("Hospital service")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.OTHER)
    finess = models.CharField(_("FINESS"), max_length=9, blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    managers = models.ManyToManyField(
        User, blank=True, related_name="managed_structures", verbose_name=_("managers")
    )

    class Meta:
        verbose_name = _("structure")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["finess"], condition=~models.Q(finess=""), name="structure_unique_finess"
            ),
            models.UniqueConstraint(
                fields=["siret"], condition=~models.Q(siret=""), name="structure_unique_siret"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Practice(models.Model):
    """Where and as what a professional works, from PSC's SubjectRefPro (refreshed at login)."""

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="practices")
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="practices")
    profession_code = models.CharField(_("profession"), max_length=8, blank=True)
    specialty_code = models.CharField(_("specialty"), max_length=8, blank=True)
    role_code = models.CharField(_("role"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("practice")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["person", "structure", "profession_code"], name="practice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.structure}"


class Mailbox(models.Model):
    """An MSSanté mailbox (BAL) held at the operator. Types from TRE_R257-TypeBAL."""

    class Kind(models.TextChoices):
        PERSONAL = "PER", _("Personal")
        ORGANISATIONAL = "ORG", _("Organisational")
        APPLICATIVE = "APP", _("Applicative")
        PRACTICE = "CAB", _("Practice")

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

    Only a digest of the token is stored. Accepting an invitation addressed to an existing
    account's e-mail resets that account's password and codes (that is the reset path).
    """

    email = models.EmailField(_("e-mail address"))
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    structure = models.ForeignKey(
        Structure, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
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


class Outgoing(models.Model):
    """A message on its way out: written here first, so nothing the person wrote is lost.

    `raw` is the MIME message as built (health data: cleared once the message is sent and
    copied to Sent). A failed message stays, with the server's reason, until retried.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Not sent")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="outgoing")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    message_id = models.CharField(max_length=250, unique=True)
    envelope_from = models.EmailField()
    recipients = models.JSONField(default=list)
    raw = models.BinaryField()
    request_dsn = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    copied_to_sent = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        indexes: ClassVar = [models.Index(fields=["mailbox", "status", "-created"])]

    def __str__(self) -> str:
        return self.message_id


class Receipt(models.Model):
    """A delivery report (DSN, RFC 3464) or a read report (MDN, RFC 8098) for a sent message."""

    class Kind(models.TextChoices):
        DSN = "dsn", _("Delivery report")
        MDN = "mdn", _("Read report")

    outgoing = models.ForeignKey(Outgoing, on_delete=models.CASCADE, related_name="receipts")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    recipient = models.CharField(max_length=254)
    action = models.CharField(max_length=32)  # delivered, failed, delayed, displayed, deleted...
    status = models.CharField(max_length=32, blank=True)
    diagnostic = models.CharField(max_length=300, blank=True)
    report_message_id = models.CharField(max_length=250)
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["outgoing", "report_message_id", "recipient"], name="receipt_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.action} {self.recipient}"


class Folder(models.Model):
    """A mailbox folder as last synced: IMAP state (RFC 3501/7162) and counts."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=500)
    special_use = models.CharField(max_length=16, blank=True)
    uidvalidity = models.BigIntegerField(default=0)
    uidnext = models.BigIntegerField(default=0)
    highestmodseq = models.BigIntegerField(default=0)  # 0: unknown or no CONDSTORE
    messages = models.PositiveIntegerField(default=0)
    unseen = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="folder_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox.address}/{self.name}"


class MessageIndex(models.Model):
    """What lists and search need of one message, kept in step with the operator.
    Bodies stay at the operator; (folder, uid) is the identity within a UIDVALIDITY."""

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="index")
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    date = models.DateTimeField(null=True, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    sender_address = models.CharField(max_length=254, blank=True)
    recipients = models.TextField(blank=True)
    subject = models.CharField(max_length=500, blank=True)
    seen = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    keywords = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["folder", "uid"], name="index_unique_uid")
        ]
        indexes: ClassVar = [models.Index(fields=["folder", "-date", "-uid"])]

    def __str__(self) -> str:
        return f"{self.folder_id}:{self.uid}"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_mailbox(self, mailbox: Mailbox) -> QuerySet[AuditEvent]:
        return self.filter(mailbox=mailbox).order_by("-created")


class AuditEvent(models.Model):
    """One action on a mailbox or one login (MSSanté Ref#2 SC.MSS/CONF.17-18).

    Append-only: the application has no update or delete path except the retention purge.
    Never holds a body, a subject or a patient identity: targets are folder/UID or Message-ID.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("Success")
        DENIED = "denied", _("Refused")
        ERROR = "error", _("Error")

    created = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Copied so the trail survives the deletion of the account or the mailbox.
    actor_label = models.CharField(max_length=200, blank=True)
    actor_subject_name_id = models.CharField(max_length=32, blank=True)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mailbox_address = models.CharField(max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64)
    target = models.CharField(_("target"), max_length=500, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    response = models.CharField(_("server response"), max_length=200, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        indexes: ClassVar = [models.Index(fields=["mailbox", "-created"])]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.outcome}"
