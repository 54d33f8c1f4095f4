from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations import market
from integrations.models import Connection


class Command(BaseCommand):
    help = (
        "Create a scheme from a template (市场方案), e.g. the DingTalk expense claim → Kingdee payment bill. "
        "Run it once per scheme; --list shows the templates."
    )

    def add_arguments(self, parser):
        parser.add_argument("template", nargs="?", default=market.DEFAULT, help="template slug")
        parser.add_argument("--source", help="name or id of the DingTalk connection")
        parser.add_argument("--target", help="name or id of the Kingdee connection")
        parser.add_argument("--name", help="scheme name (default: the template's)")
        parser.add_argument("--process-code", help="the approval template's process code")
        parser.add_argument("--list", action="store_true", help="list the templates and exit")

    def handle(self, *args, **options):
        if options["list"]:
            for slug, template in market.available().items():
                self.stdout.write(f"{slug}: {template['name']}")
            return
        if not options["source"] or not options["target"]:
            raise CommandError("--source and --target connections are required.")
        try:
            scheme = market.create_scheme(
                options["template"], name=options["name"], process_code=options["process_code"],
                source_connection=self.connection(options["source"]),
                target_connection=self.connection(options["target"]),
            )
        except (LookupError, ValidationError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Created scheme {scheme.pk} “{scheme.name}” with {scheme.mappings.count()} mapping rows.")

    @staticmethod
    def connection(name_or_id):
        found = Connection.objects.filter(name=name_or_id).first()
        if found is None and name_or_id.isdigit():
            found = Connection.objects.filter(pk=int(name_or_id)).first()
        if found is None:
            raise CommandError(f"No connection named {name_or_id!r}.")
        return found
