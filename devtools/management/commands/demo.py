import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from portal import roles

CREDENTIALS_FILE = settings.BASE_DIR / "var" / "demo-admin.json"
WORKER_CHECK_EVERY = 120  # seconds


class Command(BaseCommand):
    help = (
        "Bring up the demo on this machine: migrate the database, create an admin user and print its login, "
        "seed the sandbox and the ready expense-claim scheme, then run the web server and a worker until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-serve", action="store_true", help="set everything up, then exit")
        parser.add_argument("--events", choices=["callback", "stream"], default="callback",
                            help="how the sandbox's approval events reach the portal (stream also runs the "
                                 "sandbox's Stream gateway and the portal's Stream client)")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        username, password = self.ensure_admin()
        finance_name, finance_password = self.ensure_finance()
        base_url = f"http://{options['host']}:{options['port']}"
        if "PORTAL_BASE_URL" not in os.environ:  # links in alerts follow the demo's port unless set
            os.environ["PORTAL_BASE_URL"] = settings.PORTAL_BASE_URL = base_url
        if settings.PORTAL_SANDBOX and "demo_setup" in get_commands():
            call_command("demo_setup", base_url=base_url, events=options["events"], stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Portal: {base_url}/admin/   login: {username} / {password}"))
        self.stdout.write(self.style.SUCCESS(f"Finance (财务复核, the review list only): "
                                             f"login: {finance_name} / {finance_password}"))
        if not options["no_serve"]:
            self.serve(options["host"], options["port"], stream=options["events"] == "stream")

    def ensure_admin(self):
        return self.ensure_user("", "admin", is_superuser=True)

    def ensure_finance(self):
        """A member of the finance role, to see the portal as finance does (no mappings, no connections)."""
        user = self.ensure_user("finance_", "finance", is_superuser=False)
        get_user_model().objects.get(username=user[0]).groups.add(Group.objects.get(name=roles.FINANCE))
        return user

    def ensure_user(self, prefix, default_name, is_superuser):
        """The login kept in var/demo-admin.json under `prefix`, so every start prints the same one."""
        stored = json.loads(CREDENTIALS_FILE.read_text()) if CREDENTIALS_FILE.exists() else {}
        username = stored.get(f"{prefix}username", default_name)
        password = stored.get(f"{prefix}password") or secrets.token_urlsafe(9)
        user, _created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": is_superuser}
        )
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        stored.update({f"{prefix}username": username, f"{prefix}password": password})
        CREDENTIALS_FILE.write_text(json.dumps(stored))
        CREDENTIALS_FILE.chmod(0o600)
        return username, password

    def serve(self, host, port, stream=False):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = [["runserver", f"{host}:{port}", "--noreload"], ["qcluster"]]
        if stream:  # runserver cannot serve websockets: the sandbox's gateway runs on its own port
            commands += [["sandbox_stream", "--host", host], ["dingtalk_stream"]]
        children = [subprocess.Popen([*manage, *command]) for command in commands]
        stop = lambda *_: [child.terminate() for child in children if child.poll() is None]  # noqa: E731
        signal.signal(signal.SIGTERM, stop)
        try:
            next_check = time.monotonic() + WORKER_CHECK_EVERY
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
                if time.monotonic() >= next_check:
                    # What cron does in production: a stopped worker cannot raise its own alert.
                    call_command("check_worker", stdout=io.StringIO())
                    next_check = time.monotonic() + WORKER_CHECK_EVERY
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for child in children:
                child.wait(timeout=30)
