from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations import scheme_file


class Command(BaseCommand):
    help = (
        "Create or update a scheme from a file written by export_scheme (or the admin's export). Connections are "
        "found by name and must exist. --dry-run checks everything and saves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        try:
            text = Path(options["file"]).read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error}") from error
        try:
            plan = scheme_file.load(scheme_file.parse(text), dry_run=options["dry_run"])
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from error
        verb = "would update" if plan.existing else "would create"
        if not options["dry_run"]:
            verb = "updated" if plan.existing else "created"
        self.stdout.write(f"{verb} “{plan.name}”: {plan.mappings} mapping rows, {plan.value_maps} value maps, "
                          f"{len(plan.changes)} changes")
        for change in plan.changes:
            self.stdout.write(f"  {change}")
        for warning in plan.warnings:
            self.stderr.write(f"warning: {warning}")
