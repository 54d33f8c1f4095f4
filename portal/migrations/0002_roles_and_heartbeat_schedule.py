from django.db import migrations

ROLES = ["IT管理员", "财务复核"]


def create_roles(apps, schema_editor):
    # Permissions are attached by portal.roles.sync_roles after every migrate.
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def schedule_heartbeat(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="portal.worker_heartbeat",
        defaults={"func": "portal.tasks.beat", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(schedule_heartbeat, migrations.RunPython.noop),
    ]
