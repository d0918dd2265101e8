"""People and the structures they work for."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    pass


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp devices: untyped
    """A person: a health professional (Pro Santé Connect) or staff with a local account.

    Professionals are keyed by `subject_name_id`, PSC's national identifier (8 + RPPS, or
    0 + ADELI), never by PSC's opaque `sub`. NULL for local accounts without e-CPS.
    """

    subject_name_id = models.CharField(
        _("national identifier (SubjectNameID)"), max_length=32, unique=True, null=True, blank=True
    )

    class ReadingPane(models.TextChoices):
        """Where the lists open a message: on its own page, or in a pane beside or under
        the list. A person's choice, kept here so that it follows them to any browser."""

        OFF = "off", _("No reading pane")
        RIGHT = "right", _("Reading pane on the right")
        BELOW = "below", _("Reading pane below")

    reading_pane = models.CharField(
        _("reading pane"), max_length=8, choices=ReadingPane.choices, default=ReadingPane.OFF
    )

    objects: ClassVar[UserManager[User]] = UserManager()  # type: ignore[assignment]  # stubs want Self

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
