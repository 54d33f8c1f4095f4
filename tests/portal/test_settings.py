import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "p" * 20 + "-production-secret-key-for-tests-0123456789",
    "FERNET_KEYS": "fernet-key-one-0123456789abcdef0123456789",
    "ALLOWED_HOSTS": "portal.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "DATABASE_URL": f"sqlite:///{ROOT / 'var' / 'deploy-check.sqlite3'}",
}


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("PORTAL_")
             and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_malformed_boolean_names_its_variable():
    result = manage("check", **{**PRODUCTION, "SECURE_SSL_REDIRECT": "maybe"})
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr


def test_the_sandbox_is_never_mounted_in_production():
    result = manage("check", **{**PRODUCTION, "PORTAL_SANDBOX": "true"})
    assert result.returncode != 0
    assert "PORTAL_SANDBOX" in result.stderr


ABSENT = """
import runpy, sys
from importlib.abc import MetaPathFinder


class Absent(MetaPathFinder):
    # devtools and the sandbox are not shipped: importing them fails as if the packages were not there.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("devtools", "sandbox"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, Absent())
sys.argv = ["manage.py", "check", "--fail-level", "WARNING"]
runpy.run_path("manage.py", run_name="__main__")
"""


def test_check_is_clean_with_the_sandbox_off_and_devtools_absent():
    """Issue 10: nothing of the product imports the sandbox or devtools (a development setting, DEBUG on)."""
    env = {"DEBUG": "true", "PORTAL_SANDBOX": "false",
           "DATABASE_URL": f"sqlite:///{ROOT / 'var' / 'deploy-check.sqlite3'}"}
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("PORTAL_")
             and k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    result = subprocess.run([sys.executable, "-c", ABSENT], cwd=ROOT, env={**clean, **env}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_database_cache_keeps_the_memos_of_a_burst_of_approvals(settings):
    """Without Redis the shared cache is a table: a thousand finished approvals remembered for ten minutes are all
    still there (Django's default would have culled the table at 300 entries)."""
    from django.core.cache import caches

    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the PostgreSQL run shares Redis")
    cache = caches["default"]
    for number in range(1000):
        cache.set(f"memo-{number}", number, 600)
    assert cache.get_many([f"memo-{number}" for number in range(1000)]) == {f"memo-{n}": n for n in range(1000)}
