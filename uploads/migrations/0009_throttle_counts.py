from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("uploads", "0008_quota_holds"),
    ]

    operations = [
        migrations.CreateModel(
            name="ThrottleCount",
            fields=[
                ("key", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("hits", models.JSONField(default=list, help_text="A rate's calls still in its window (epoch seconds, oldest first).")),
                ("failures", models.PositiveIntegerField(default=0, help_text="Attempts counted as failed.")),
                ("blocked_until", models.DateTimeField(blank=True, help_text="No attempt before this.", null=True)),
                ("expires_at", models.DateTimeField(db_index=True, help_text="After this the row counts nothing; it is deleted in passing.")),
            ],
        ),
    ]
