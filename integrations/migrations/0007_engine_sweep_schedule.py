from django.db import migrations


def schedule_sweep(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="integrations.sweep",
        defaults={"func": "integrations.tasks.sweep", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unschedule_sweep(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="integrations.sweep").delete()


class Migration(migrations.Migration):
    """Every minute, recovery after a dead worker: lease expiry triggers it, not the schemes' next runs."""

    dependencies = [
        ("integrations", "0006_engine_resolve_permission"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule_sweep, unschedule_sweep)]
