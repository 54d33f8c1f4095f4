import json

from django.core.management.base import BaseCommand, CommandError

from sandbox import roster
from sandbox.dingtalk.seed import seed_dingtalk
from sandbox.kingdee.seed import seed_kingdee


class Command(BaseCommand):
    help = (
        "Fill the DingTalk and Kingdee sandboxes with a deterministic demo company: org chart, employees, "
        "expense approvals and Kingdee base data. Idempotent: run it again to restore the seed data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=roster.DEFAULT_SEED, help="random seed")
        parser.add_argument("--employees", type=int, default=roster.DEFAULT_EMPLOYEES, help="number of employees")
        parser.add_argument("--instances", type=int, default=300, help="number of expense approvals")
        parser.add_argument("--days", type=int, default=90, help="approvals are spread over this many past days")
        parser.add_argument("--json", action="store_true", help="print the sandbox credentials as one JSON object")

    def handle(self, *args, **options):
        if options["employees"] < 1 or options["instances"] < 0 or options["days"] < 1:
            raise CommandError("--employees and --days must be positive and --instances not negative.")
        people = roster.employees(options["employees"], options["seed"])
        credentials = {
            **seed_dingtalk(people, seed=options["seed"], instances=options["instances"], days=options["days"]),
            **seed_kingdee(people, seed=options["seed"]),
        }
        if options["json"]:
            self.stdout.write(json.dumps(credentials, ensure_ascii=False))
        else:
            self.stdout.write(
                f"Seeded {len(people)} employees and {options['instances']} approvals in the DingTalk sandbox, "
                "and the matching Kingdee base data."
            )
