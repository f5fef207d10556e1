"""Settings for the test suite: the real settings with test-only speed-ups."""

import os

from zincdash.settings import *  # noqa: F403

# Hashed static names need collectstatic; tests serve files straight from the
# finders instead.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Tests that exercise a real queue (db_worker, RQ) select their backend
# explicitly; everything else records enqueued tasks without running them.
TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

# A file, not SQLite's shared in-memory database, so that tests with several
# threads or processes (concurrent payments, workers) wait on locks instead of
# failing with "database table is locked".
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")  # noqa: F405
    }

# Serve static files from the finders, as runserver does, so that the live
# server of the browser tests needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
