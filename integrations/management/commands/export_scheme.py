from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations import scheme_file
from integrations.models import Scheme


class Command(BaseCommand):
    help = (
        "Write one scheme (settings, mapping rows, value maps; connections by name, never secrets) to a JSON file, "
        "to import it into another portal with import_scheme or the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("scheme", help="name or id of the scheme")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        scheme = Scheme.objects.filter(name=options["scheme"]).first()
        if scheme is None and options["scheme"].isdigit():
            scheme = Scheme.objects.filter(pk=int(options["scheme"])).first()
        if scheme is None:
            raise CommandError(f"No scheme named {options['scheme']!r}.")
        text = scheme_file.dumps(scheme)
        if not options["output"]:
            self.stdout.write(text)
            return
        Path(options["output"]).write_text(text + "\n", encoding="utf-8")
        self.stderr.write(f"Wrote “{scheme.name}” to {options['output']}.")
