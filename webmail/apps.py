from django.apps import AppConfig


class WebmailConfig(AppConfig):
    name = "webmail"
    verbose_name = "Webmail MSSanté"

    def ready(self) -> None:
        from django.core import checks

        from webmail.checks import mss_nil

        # A deployment check (`check --deploy`): a bare checkout still runs with no
        # environment at all (tests/webmail/test_settings.py).
        checks.register(mss_nil, deploy=True)
