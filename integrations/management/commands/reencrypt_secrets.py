import signal

from django.core.management.base import BaseCommand, CommandError

from integrations.secrets import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest key in FERNET_KEYS. Run it after putting a new key "
        "first in FERNET_KEYS (keep the old one after it); once it reports no unreadable values, the old key "
        "can be removed."
    )

    def handle(self, *args, **options):
        # Each row is saved in its own transaction; an interrupted run can simply be run again.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            report = reencrypt_all()
        except KeyboardInterrupt as exc:
            raise CommandError("Interrupted; rows done so far use the new key. Run the command again.") from exc
        self.stdout.write(f"Re-encrypted {report.values} secret values in {report.rows} rows with the newest key.")
        for kind, name, fields in report.unreadable:
            self.stderr.write(
                f"Unreadable with every configured key: {kind} '{name}': {', '.join(fields)}. "
                "Add the key they were written with to FERNET_KEYS, or enter these secrets again."
            )
        if report.unreadable:
            raise CommandError(f"{len(report.unreadable)} rows have secrets no configured key can read.")
