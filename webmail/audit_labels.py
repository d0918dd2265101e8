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
    "message.undo": _("Move undone (messages put back)"),
    "operator.login": _("Login to the operator"),
    "otp.enrol": _("Authenticator app set up"),
    "session.end": _("Session ended"),
    "trash.empty": _("Trash emptied"),
    "xdm.view": _("Health documents viewed"),
    "xdm.download": _("Health document downloaded"),
    "xdm.search": _("Health documents searched"),
    "message.keyword": _("Label set on the message (IMAP keyword)"),
    "message.refused": _("Recipient refused (outside the MSSanté trust space)"),
    "reply.stopped": _("Reply stopped (someone else changed the conversation)"),
    "triage.assign": _("Conversation assigned"),
    "triage.unassign": _("Conversation unassigned"),
    "triage.status": _("Conversation status changed"),
    "triage.label": _("Conversation label changed"),
    "triage.note": _("Internal note added"),
    "triage.reopen": _("Conversation reopened by a new message"),
    "triage.saved_reply": _("Saved reply changed"),
    "directory.import": _("Directory imported"),
    "message.copy_sent": _("Copy in Sent made later"),
    "message.requeue": _("Message queued again (its task was lost)"),
    "trustlist.refresh": _("Trust list refreshed"),
}
# Answers we wrote ourselves (not an operator's), in the manager's words.
RESPONSES: dict[str, Promise] = {
    "outside the trust space": _("outside the MSSanté trust space"),
}
SAID_BY_THE_OUTCOME = frozenset({"ok"})
ROLES = dict(Delegation.Role.choices)
OUTCOMES = dict(AuditEvent.Outcome.choices)


def action_label(code: str) -> str:
    """The French label of an audit action; the code itself when none is known."""
    return str(ACTIONS.get(code, code))


def response_label(text: str) -> str:
    """Our own answers in French; an operator's answer as it gave it (it is evidence)."""
    if text in SAID_BY_THE_OUTCOME:
        return ""
    return str(RESPONSES.get(text, text))


def target_label(event: AuditEvent) -> str:
    """A delegation's target names its role by code ("secretariat@x.fr sender"): say it."""
    if event.action.startswith("delegation."):
        who, _space, role = event.target.rpartition(" ")
        if role in ROLES:
            return f"{who} ({ROLES[role]})"
    return event.target
