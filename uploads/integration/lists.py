"""`MediaFilesField`: several uploads in one model field, in order, with limits per file and a
most-files count.

    class Show(models.Model):
        gallery = MediaFilesField(allowed_types=["image/*"], max_files=5, blank=True)

It is a many-to-many to `uploads.MediaFile` through a model it generates in the host's app,
`<Model>_<field>` (`Show_gallery`, table `demo_show_gallery`, as Django names its own), so the
host's `makemigrations` writes it: `<model>` (CASCADE: the rows go with their object),
`media_file` (PROTECT: an upload in a list is never deleted under it) and `position`, unique
per object and per file. `show.gallery.all()` gives the files by position; `set()` writes
positions 0..n-1 (ordering.py); a file let go of (`set`, `remove`, `clear`) is dated, so the
cleanup of unattached uploads waits its grace before deleting it.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import models
from django.db.models.signals import pre_delete

from uploads.integration import registry
from uploads.integration.ordering import FILE, POSITION, OrderedFilesDescriptor, through_of
from uploads.limits import Limits


def too_many(max_files: int) -> str:
    """Say the most-files rule: the form, the API and the widget all show this text."""
    return f"This field takes at most {max_files} file{'' if max_files == 1 else 's'}."


class MediaFilesField(models.ManyToManyField):  # type: ignore[type-arg]
    """An ordered many-to-many to `uploads.MediaFile` whose form field uploads straight to the
    bucket."""

    def __init__(
        self,
        *args: Any,
        allowed_types: Sequence[str] | None = None,
        max_bytes: int | None = None,
        max_files: int | None = None,
        max_duration: float | None = None,
        min_width: int | None = None,
        max_width: int | None = None,
        min_height: int | None = None,
        max_height: int | None = None,
        verify_content: bool = True,
        inline_types: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """Take MediaFileField's limits (`max_bytes` per file) and `max_files`; `through` is
        generated (migrations pass the generated one's label back)."""
        if max_files is not None and max_files < 1:
            raise ValueError("max_files must be at least 1.")
        kwargs.setdefault("to", "uploads.MediaFile")
        # Two such fields on one model must not clash on MediaFile's reverse accessors.
        kwargs.setdefault("related_name", "+")
        self.max_files = max_files
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

    @property
    def position_lookup(self) -> str:
        """Return the lookup from a MediaFile to its position in this field's rows."""
        return f"{_query_name(self.model, self.name)}__{POSITION}"

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False, **kwargs: Any
    ) -> None:
        """Generate the through model on a real concrete model, then register the field."""
        # Migrations build historical copies of models in apps of their own: those name the
        # through model they created, and must not replace the real model in the registry.
        real = not cls._meta.abstract and cls._meta.apps is global_apps
        if real:
            if self.remote_field.through is not None:
                raise TypeError("MediaFilesField generates its through model: leave `through` out.")
            self.remote_field.through = _through_model(cls, name)
        super().contribute_to_class(cls, name, private_only=private_only, **kwargs)
        if not cls._meta.abstract:
            setattr(cls, self.name, OrderedFilesDescriptor(self.remote_field, reverse=False))
        if real:
            self._register(cls)

    def _register(self, cls: type[models.Model]) -> None:
        """Declare the field's rows in the registry, and purge its files with their object."""
        declared = registry.DeclaredField(
            self.field_id,
            self.limits,
            cls,
            f"{FILE}_id",
            through=through_of(self),
            owner_attname=f"{_owner_name(cls)}_id",
            max_files=self.max_files,
        )
        registry.register(declared)
        from uploads.integration import purging  # imports the models: not at module load

        # pre_delete: by post_delete the cascade has removed the rows that said which files.
        pre_delete.connect(
            purging.before_delete(declared),
            sender=cls,
            weak=False,
            dispatch_uid=f"uploads.purge.{self.field_id}",
        )

    def deconstruct(self) -> Any:
        """Describe the field for migrations: its limits and through, without the fixed target."""
        name, _, args, kwargs = super().deconstruct()
        kwargs.pop("to", None)
        # Django renames a hidden related_name ("+") after the field; "+" says the same.
        if str(kwargs.get("related_name", "")).endswith("+"):
            kwargs.pop("related_name")
        kwargs.update(self.limits.field_options())
        if self.max_files is not None:
            kwargs["max_files"] = self.max_files
        return name, "uploads.fields.MediaFilesField", args, kwargs

    def formfield(self, **kwargs: Any) -> Any:
        """Offer the upload widget for several files, not a select of every record."""
        from uploads.integration.list_forms import MediaFilesFormField

        defaults = {
            "form_class": MediaFilesFormField,
            "field_id": self.field_id,
            "max_files": self.max_files,
            **kwargs,
        }
        # Field's, not ManyToManyField's: that one adds a queryset of every record.
        return models.Field.formfield(self, **defaults)


def _owner_name(cls: type[models.Model]) -> str:
    """Return the through model's column naming the object, as Django names it ("show")."""
    return cls._meta.model_name or cls.__name__.lower()


def _query_name(cls: type[models.Model], name: str) -> str:
    """Return the query name from MediaFile to this field's rows (hidden, unique per field)."""
    return f"{cls._meta.app_label}_{_owner_name(cls)}_{name}_entry"


def _through_model(cls: type[models.Model], name: str) -> type[models.Model]:
    """Build `<Model>_<field>`: one row per file of an object, at its position."""
    owner = _owner_name(cls)
    through_name = f"{cls._meta.object_name}_{name}"
    table = f"{cls._meta.app_label}_{through_name.lower()}"
    meta = type(
        "Meta",
        (),
        {
            "app_label": cls._meta.app_label,
            "ordering": [owner, POSITION],
            "verbose_name": f"{cls._meta.verbose_name} {name.replace('_', ' ')} file",
            "constraints": [
                models.UniqueConstraint(fields=[owner, POSITION], name=f"{table}_position"),
                models.UniqueConstraint(fields=[owner, FILE], name=f"{table}_once"),
            ],
        },
    )
    return type(
        through_name,
        (models.Model,),
        {
            "Meta": meta,
            "__module__": cls.__module__,
            "__doc__": f"The files of a {cls.__name__}'s {name}, by position (MediaFilesField).",
            owner: models.ForeignKey(cls, on_delete=models.CASCADE, related_name=f"{table}+"),
            FILE: models.ForeignKey(
                "uploads.MediaFile",
                on_delete=models.PROTECT,
                related_name="+",
                related_query_name=_query_name(cls, name),
            ),
            POSITION: models.PositiveIntegerField(),
            "__str__": lambda row: f"{name} #{getattr(row, POSITION) + 1}",
        },
    )
