from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from webmail.auth import local_views
from webmail.auth import views as auth_views
from webmail.converters import UidConverter
from webmail.views import (
    actions,
    compose,
    delegations,
    directory,
    documents,
    events,
    health,
    mail,
    metrics,
    preferences,
    reader,
    search,
    triage,
    undo,
)

register_converter(UidConverter, "uid")


def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("favicon.svg"), permanent=True)


urlpatterns = [
    path("", mail.home, name="mail-home"),
    path("mailbox/<int:mailbox_id>/", mail.folder, name="mail-folder"),
    path("mailbox/<int:mailbox_id>/changes/", mail.changes, name="mail-changes"),
    path("mailbox/<int:mailbox_id>/events/", events.events, name="mail-events"),
    path("mailbox/<int:mailbox_id>/conversation/", search.conversation, name="mail-conversation"),
    path("search/", search.search, name="mail-search"),
    path("search/documents/", documents.search, name="mail-document-search"),
    path("mailbox/<int:mailbox_id>/message/<uid:uid>/", reader.message, name="mail-message"),
    path("mailbox/<int:mailbox_id>/message/<uid:uid>/body/", reader.body, name="mail-body"),
    path(
        "mailbox/<int:mailbox_id>/message/<uid:uid>/part/<int:index>/",
        reader.part,
        name="mail-part",
    ),
    path(
        "mailbox/<int:mailbox_id>/message/<uid:uid>/part/<int:index>/message/",
        reader.attached_message,
        name="mail-attached-message",
    ),
    path("mailbox/<int:mailbox_id>/message/<uid:uid>/raw/", reader.raw_source, name="mail-raw"),
    path(
        "mailbox/<int:mailbox_id>/message/<uid:uid>/part/<int:index>/document/<int:number>/",
        documents.document,
        name="mail-document",
    ),
    path(
        "mailbox/<int:mailbox_id>/message/<uid:uid>/part/<int:index>/document/<int:number>/content/",
        documents.document_content,
        name="mail-document-content",
    ),
    path(
        "mailbox/<int:mailbox_id>/message/<uid:uid>/part/<int:index>/document/<int:number>/download/",
        documents.document_download,
        name="mail-document-download",
    ),
    path("mailbox/<int:mailbox_id>/message/<uid:uid>/mdn/", reader.send_mdn, name="mail-mdn"),
    path("mailbox/<int:mailbox_id>/actions/", actions.messages_action, name="mail-actions"),
    path("mailbox/<int:mailbox_id>/actions/undo/", undo.undo_move, name="mail-undo"),
    path("preferences/reading-pane/", preferences.reading_pane, name="mail-reading-pane"),
    path("mailbox/<int:mailbox_id>/compose/", compose.compose, name="mail-compose"),
    path("mailbox/<int:mailbox_id>/outbox/", compose.outbox_page, name="mail-outbox"),
    path("mailbox/<int:mailbox_id>/drafts/save/", compose.save_draft, name="mail-draft"),
    path(
        "mailbox/<int:mailbox_id>/outbox/<int:outgoing_id>/retry/",
        compose.retry,
        name="mail-outbox-retry",
    ),
    path(
        "mailbox/<int:mailbox_id>/outbox/<int:outgoing_id>/discard/",
        compose.discard,
        name="mail-outbox-discard",
    ),
    path("mailbox/<int:mailbox_id>/trash/empty/", actions.empty_trash, name="mail-empty-trash"),
    path(
        "directory/recipients/",
        directory.recipient_marks,
        name="directory-recipient-marks",
    ),
    path("directory/", directory.directory_page, name="directory-page"),
    path("directory/suggest/", directory.suggest, name="directory-suggest"),
    path("directory/confirm/", directory.confirm, name="directory-confirm"),
    path("triage/mine/", triage.mine, name="triage-mine"),
    path("mailbox/<int:mailbox_id>/triage/", triage.mailbox_list, name="triage-list"),
    path("mailbox/<int:mailbox_id>/triage/change/", triage.change, name="triage-change"),
    path("mailbox/<int:mailbox_id>/triage/bulk/", triage.bulk, name="triage-bulk"),
    path("mailbox/<int:mailbox_id>/triage/live/", triage.live, name="triage-live"),
    path("mailbox/<int:mailbox_id>/triage/typing/", triage.typing, name="triage-typing"),
    path("mailbox/<int:mailbox_id>/triage/leave/", triage.leave, name="triage-leave"),
    path("mailbox/<int:mailbox_id>/saved-replies/", triage.saved_replies, name="triage-replies"),
    path("manage/", delegations.manage_home, name="admin-home"),
    path(
        "mailbox/<int:mailbox_id>/delegations/",
        delegations.delegations,
        name="admin-delegations",
    ),
    path(
        "mailbox/<int:mailbox_id>/delegations/<int:delegation_id>/",
        delegations.delegation_change,
        name="admin-delegation-change",
    ),
    path(
        "mailbox/<int:mailbox_id>/delegations/<int:delegation_id>/revoke/",
        delegations.delegation_revoke,
        name="admin-delegation-revoke",
    ),
    path("mailbox/<int:mailbox_id>/audit/", delegations.audit_trail, name="admin-audit"),
    path(
        "mailbox/<int:mailbox_id>/settings/",
        delegations.mailbox_settings,
        name="admin-mailbox-settings",
    ),
    path("notifications/", delegations.notifications, name="mail-notifications"),
    path("login/", auth_views.login_page, name="auth-login"),
    path("login/password/", local_views.password_login, name="auth-password"),
    path("login/code/", local_views.code_login, name="auth-code"),
    path("invitation/", local_views.invitation, name="auth-invitation"),
    path(
        "invitation/password/",
        local_views.invitation_password,
        name="auth-invitation-password",
    ),
    path("account/password/", local_views.add_password, name="auth-add-password"),
    path("enrol/", local_views.enrol, name="auth-enrol"),
    path("enrol/backup-codes/", local_views.backup_codes, name="auth-backup-codes"),
    path("invite/", local_views.invite, name="auth-invite"),
    path("logout/", auth_views.logout_view, name="auth-logout"),
    # Not the library's logout view: ours is audited and ends PSC's session too.
    path("oidc/logout/", auth_views.logout_view, name="oidc_logout"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.ready, name="healthz"),
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers ask for it whatever the page says.
    path("favicon.ico", favicon),
    # Administrators log in like everyone else (password + code, or PSC).
    path("admin/login/", RedirectView.as_view(pattern_name="auth-login", query_string=True)),
    path("admin/", admin.site.urls),
]
