from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # The database cache (used when REDIS_URL is unset) needs its table; migrate is
    # the one set-up step every installation runs.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_roles_and_heartbeat_schedule")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
