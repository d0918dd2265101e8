"""The events server's entry point (deploy/: uvicorn webmail.asgi:application): the open
lists' event streams (webmail/push.py), long-lived, one per tab, none holding a thread. The
pages stay on the WSGI processes (gunicorn); this serves them too, if asked (the tests do).

No persistent database connections here, whatever the environment says: under ASGI Django
runs each request's synchronous part in a thread of its own that ends with the request, and a
connection kept for reuse there would be left open (Django's ASGI deployment notes)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402 - once Django is set up

from webmail.asgi_limits import LimitStarts  # noqa: E402

# At most this many requests being set up at once: each holds a database connection until
# its stream starts (webmail/asgi_limits.py).
application = LimitStarts(django_application, settings.WEBMAIL_EVENTS_STARTING)
