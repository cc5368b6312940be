from django.db import migrations, models


def forget_the_beat_heartbeat(apps, schema_editor):
    """Beat asked one worker a minute for a heartbeat; each worker process now writes its own. The database
    scheduler keeps the entries it was once given, so the old one goes here."""
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="p2c.worker_heartbeat").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("integration", "0009_security_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="recordsync",
            name="claimed_by",
            field=models.CharField(blank=True, help_text="The worker process that claimed it last (its heartbeat's name)",
                                   max_length=255),
        ),
        migrations.RenameField(model_name="workerheartbeat", old_name="hostname", new_name="name"),
        migrations.AlterField(
            model_name="workerheartbeat",
            name="name",
            field=models.CharField(help_text="Celery node name and process id: celery@host:1234", max_length=255,
                                   unique=True),
        ),
        migrations.AlterField(
            model_name="workerheartbeat",
            name="tasks_seen",
            field=models.PositiveBigIntegerField(default=0, help_text="Tasks the process has run"),
        ),
        migrations.AddField(
            model_name="workerheartbeat",
            name="planning",
            field=models.JSONField(blank=True, default=list, help_text="Ids of the stages the process is planning"),
        ),
        migrations.AddField(
            model_name="workerheartbeat",
            name="gone_at",
            field=models.DateTimeField(blank=True, help_text="When the sweeper found it silent and took back its work",
                                       null=True),
        ),
        migrations.RunPython(forget_the_beat_heartbeat, migrations.RunPython.noop),
    ]
