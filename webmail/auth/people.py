"""A person's record from Pro Santé Connect claims: names, e-mail, practices, structures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from mailboxes.models import Practice, Structure, User

# Secteur d'activité SA07: pharmacie d'officine (TRE_R02-SecteurActivite).
PHARMACY_SECTORS = frozenset({"SA07"})


@dataclass(frozen=True)
class Activity:
    name: str
    finess: str
    siret: str
    kind: str
    profession_code: str
    specialty_code: str
    role_code: str


def _text(value: object, limit: int) -> str:
    return str(value or "").strip()[:limit]


def activities(claims: dict[str, Any]) -> list[Activity]:
    """SubjectRefPro.exercices[].activities[] with a structure identifier (FINESS or SIRET)."""
    found = []
    ref = claims.get("SubjectRefPro") or {}
    for exercice in ref.get("exercices") or []:
        for activity in exercice.get("activities") or []:
            finess = _text(activity.get("numeroFinessSite"), 9)
            siret = _text(activity.get("numeroSiretSite"), 14)
            if not (finess or siret):
                continue
            sector = _text(activity.get("codeSecteurDactivite"), 8)
            liberal = _text(activity.get("codeModeExercice"), 2) == "L"
            kind = (
                Structure.Kind.PHARMACY
                if sector in PHARMACY_SECTORS
                else Structure.Kind.PRACTICE
                if liberal
                else Structure.Kind.OTHER
            )
            found.append(
                Activity(
                    name=_text(activity.get("raisonSocialeSite"), 200) or finess or siret,
                    finess=finess,
                    siret=siret,
                    kind=kind,
                    profession_code=_text(exercice.get("codeProfession"), 8),
                    specialty_code=_text(exercice.get("codeSavoirFaire"), 8),
                    role_code=_text(activity.get("codeRole"), 8),
                )
            )
    return found


def structure_for(activity: Activity) -> Structure:
    """The structure by FINESS, else by SIRET; created when unknown, names kept as we have them."""
    lookup = {"finess": activity.finess} if activity.finess else {"siret": activity.siret}
    structure, _ = Structure.objects.get_or_create(
        **lookup,
        defaults={
            "name": activity.name,
            "kind": activity.kind,
            "finess": activity.finess,
            "siret": activity.siret,
        },
    )
    return structure


@transaction.atomic
def update_from_psc(user: User, claims: dict[str, Any]) -> User:
    """Refresh the person from PSC's claims at each login (names, e-mail, practices)."""
    user.first_name = _text(claims.get("given_name"), 150)
    user.last_name = _text(claims.get("family_name"), 150)
    if claims.get("email") and claims.get("email_verified", True):
        user.email = _text(claims["email"], 254).lower()
    user.save()
    kept = []
    for activity in activities(claims):
        practice, _ = Practice.objects.update_or_create(
            person=user,
            structure=structure_for(activity),
            profession_code=activity.profession_code,
            defaults={"specialty_code": activity.specialty_code, "role_code": activity.role_code},
        )
        kept.append(practice.pk)
    Practice.objects.filter(person=user).exclude(pk__in=kept).delete()
    return user
