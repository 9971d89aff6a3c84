from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("uploads", "0005_field_uploads"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingDeletion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("media_id", models.UUIDField(help_text="The deleted record's id (not a key: the row is gone).")),
                ("key", models.CharField(max_length=1024)),
                ("upload_id", models.CharField(blank=True, max_length=1024)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
        ),
    ]
