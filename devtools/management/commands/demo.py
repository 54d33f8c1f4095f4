import io
import json
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

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
        base_url = f"http://{options['host']}:{options['port']}"
        if settings.PORTAL_SANDBOX and "demo_setup" in get_commands():
            call_command("demo_setup", base_url=base_url, events=options["events"], stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Portal: {base_url}/admin/   login: {username} / {password}"))
        if not options["no_serve"]:
            self.serve(options["host"], options["port"], stream=options["events"] == "stream")

    def ensure_admin(self):
        stored = json.loads(CREDENTIALS_FILE.read_text()) if CREDENTIALS_FILE.exists() else {}
        username = stored.get("username", "admin")
        password = stored.get("password") or secrets.token_urlsafe(9)
        user, _created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        CREDENTIALS_FILE.write_text(json.dumps({"username": username, "password": password}))
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
