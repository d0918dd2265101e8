"""The audit trail's codes in the words a manager reads (page and CSV export). The trail
itself keeps the codes: they are stable, searchable, and language-free."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailboxes.models import AuditEvent, Delegation

ACTIONS: dict[str, Promise] = {
    "access.read": _("Access refused (read)"),
    "access.search": _("Access refused (search)"),
    "access.triage": _("Access refused (triage)"),
    "access.move": _("Access refused (move)"),
    "access.send": _("Access refused (send)"),
    "access.manage": _("Access refused (management)"),
    "account.password": _("Password set"),
    "account.reset": _("Account reset"),
    "audit.export": _("Audit trail exported"),
    "conversation.read": _("Conversation opened"),
    "delegation.change": _("Delegation changed"),
    "delegation.grant": _("Delegation granted"),
    "delegation.revoke": _("Delegation revoked"),
    "draft.save": _("Draft saved"),
    "invitation.accept": _("Invitation accepted"),
    "invitation.create": _("Invitation created"),
    "invitation.email": _("Invitation e-mailed"),
    "invitation.open": _("Invitation opened"),
    "login.otp": _("Login (one-time code)"),
    "login.password": _("Login (password)"),
    "login.psc": _("Login (Pro Santé Connect)"),
    "mailbox.open": _("Mailbox opened"),
    "mailbox.settings": _("Signature changed"),
    "mailbox.sync": _("Mailbox synchronised"),
    "mdn.send": _("Read receipt sent"),
    "message.archive": _("Message archived"),
    "message.delete": _("Message moved to the Trash"),
    "message.discard": _("Unsent message deleted"),
    "message.download": _("Attachment or message downloaded"),
    "message.eml": _("Message downloaded (.eml)"),
    "message.expunge": _("Message deleted for good"),
    "message.flag": _("Message flagged"),
    "message.move": _("Message moved"),
    "message.queue": _("Message written"),
    # Opening a message and marking it read share the code (mailboxes.actions.messages).
    "message.read": _("Message read (opened or marked as read)"),
    "message.retry": _("Sending tried again"),
    "message.search": _("Search"),
    "message.send": _("Message sent"),
    "message.unflag": _("Flag removed"),
    "message.unread": _("Marked as unread"),
    "operator.login": _("Login to the operator"),
    "otp.enrol": _("Authenticator app set up"),
    "session.end": _("Session ended"),
    "trash.empty": _("Trash emptied"),
    "xdm.view": _("Health documents viewed"),
    "xdm.download": _("Health document downloaded"),
}
ROLES = dict(Delegation.Role.choices)
OUTCOMES = dict(AuditEvent.Outcome.choices)


def action_label(code: str) -> str:
    """The French label of an audit action; the code itself when none is known."""
    return str(ACTIONS.get(code, code))


def target_label(event: AuditEvent) -> str:
    """A delegation's target names its role by code ("secretariat@x.fr sender"): say it."""
    if event.action.startswith("delegation."):
        who, _space, role = event.target.rpartition(" ")
        if role in ROLES:
            return f"{who} ({ROLES[role]})"
    return event.target
