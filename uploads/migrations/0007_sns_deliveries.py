from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("uploads", "0006_pending_deletions"),
    ]

    operations = [
        migrations.CreateModel(
            name="SnsDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("message_id", models.CharField(max_length=100, unique=True)),
                ("started_at", models.DateTimeField(db_index=True, help_text="When a delivery began acting on it (a lease until acted on).")),
                ("acted_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
