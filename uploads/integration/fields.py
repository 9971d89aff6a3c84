"""`MediaFileField`: a foreign key to an upload, for any model, with limits of its own.

    class Episode(models.Model):
        video = MediaFileField(allowed_types=["video/*"], max_bytes=2 * 1024**3)
        cover = MediaFileField(allowed_types=["image/*"], null=True, blank=True)

Its ModelForm (and so its admin) gets an upload widget, and the create call of the API can name the
field (`app_label.model.field`) so its limits apply before anything is signed.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import models
from django.db.models.signals import post_delete, pre_save
from django.utils import timezone

from uploads.integration import registry
from uploads.limits import Limits


class MediaFileField(models.ForeignKey):  # type: ignore[type-arg]
    """A foreign key to `uploads.MediaFile` whose form field uploads straight to the bucket."""

    def __init__(
        self,
        *args: Any,
        allowed_types: Sequence[str] | None = None,
        max_bytes: int | None = None,
        max_duration: float | None = None,
        min_width: int | None = None,
        max_width: int | None = None,
        min_height: int | None = None,
        max_height: int | None = None,
        verify_content: bool = True,
        inline_types: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """Take the usual ForeignKey options and the field's limits: types, size, bounds on
        what analysis finds (seconds; displayed pixels), whether contents are checked (False
        takes types nothing can check), and the documents shown inline. Nothing cascades from
        an upload."""
        kwargs.setdefault("to", "uploads.MediaFile")
        # Deleting an upload must never silently delete someone's Episode, nor empty its field
        # (the app refuses to delete an upload in use whatever this says; see deletions.py).
        kwargs.setdefault("on_delete", models.PROTECT)
        # Two such fields on one model must not clash on MediaFile's reverse accessors.
        kwargs.setdefault("related_name", "+")
        self.limits = Limits.of_field(
            allowed_types=allowed_types,
            max_bytes=max_bytes,
            max_duration=max_duration,
            min_width=min_width,
            max_width=max_width,
            min_height=min_height,
            max_height=max_height,
            verify_content=verify_content,
            inline_types=inline_types,
        )
        super().__init__(*args, **kwargs)

    @property
    def field_id(self) -> str:
        """Return the stable id the API and the widget name this field by."""
        return f"{self.model._meta.app_label}.{self.model._meta.model_name}.{self.name}"

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False, **kwargs: Any
    ) -> None:
        """Register the field's limits under its id once it belongs to a concrete model."""
        super().contribute_to_class(cls, name, private_only=private_only, **kwargs)
        # Migrations build historical copies of models in apps of their own: they must not
        # replace the real model in the registry.
        if not cls._meta.abstract and cls._meta.apps is global_apps:
            registry.register(
                registry.DeclaredField(self.field_id, self.limits, cls, self.get_attname())
            )
            pre_save.connect(_note_detached, sender=cls, weak=False)
            from uploads.integration import purging  # imports the models: not at module load

            post_delete.connect(
                purging.after_delete(self.field_id, self.get_attname()),
                sender=cls,
                weak=False,
                dispatch_uid=f"uploads.purge.{self.field_id}",
            )

    def deconstruct(self) -> Any:
        """Describe the field for migrations, with its limits and without the fixed target."""
        name, _, args, kwargs = super().deconstruct()
        kwargs.pop("to", None)
        kwargs.update(self.limits.field_options())
        return name, "uploads.fields.MediaFileField", args, kwargs

    def formfield(self, **kwargs: Any) -> Any:
        """Offer the upload widget, not a select of every record."""
        from uploads.integration.forms import MediaFileFormField

        return super().formfield(
            **{"form_class": MediaFileFormField, "field_id": self.field_id, **kwargs}
        )


def _note_detached(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Date the records an object is about to let go of, so their cleanup waits its grace period."""
    from uploads.models import MediaFile  # not at import: models of other apps import this module

    if instance.pk is None:
        return
    columns = [
        field.get_attname() for field in sender._meta.fields if isinstance(field, MediaFileField)
    ]
    before = sender._default_manager.filter(pk=instance.pk).values(*columns).first()
    if before is None:
        return
    let_go = [old for column, old in before.items() if old and old != getattr(instance, column)]
    if let_go:
        MediaFile.objects.filter(pk__in=let_go).update(updated_at=timezone.now())
