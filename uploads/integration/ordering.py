"""How a MediaFilesField's files are read and written: by position, through the rows of its
generated through model. A file the list lets go of is dated, so the cleanup of unattached uploads
waits its grace before deleting it."""

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from django.db import models, transaction
from django.db.models.fields.related_descriptors import ManyToManyDescriptor
from django.utils import timezone

if TYPE_CHECKING:
    from uploads.integration.lists import MediaFilesField

# The generated through model's columns besides the one naming the object.
FILE = "media_file"
POSITION = "position"


def through_of(field: "MediaFilesField") -> type[models.Model]:
    """Return the field's generated through model (resolved: models are loaded)."""
    through = field.remote_field.through
    if through is None or isinstance(through, str):
        raise TypeError(f"{field.field_id} has no through model yet.")
    return through


class OrderedFilesDescriptor(ManyToManyDescriptor):  # type: ignore[type-arg]
    """`obj.<field>`: a related manager that reads files by position and writes positions."""

    @cached_property
    def related_manager_cls(self) -> Any:
        """Return Django's many-to-many manager, ordered and writing positions."""
        return _ordered(super().related_manager_cls, cast("MediaFilesField", self.field))


def _ordered(base: Any, field: "MediaFilesField") -> Any:
    """Subclass a many-to-many manager class for one MediaFilesField."""

    class OrderedMediaFiles(base):  # type: ignore[misc]
        """The files of one object's field, by position."""

        def get_queryset(self) -> Any:
            """Return the files by position (a prefetch is ordered already)."""
            queryset = super().get_queryset()
            # (Django 5.2's manager has no get_prefetch_cache(): read the cache it fills.)
            if self.prefetch_cache_name in getattr(self.instance, "_prefetched_objects_cache", {}):
                return queryset
            # Ordering reuses the join the manager's filter made through the same rows.
            return queryset.order_by(field.position_lookup)

        def get_prefetch_querysets(self, instances: Any, querysets: Any = None) -> Any:
            """Prefetch by position too."""
            queryset, *rest = super().get_prefetch_querysets(instances, querysets)
            return (queryset.order_by(field.position_lookup), *rest)

        def set(
            self, objs: Iterable[Any], *, clear: bool = False, through_defaults: Any = None
        ) -> None:
            """Hold exactly these files, in this order (positions 0..n-1)."""
            self._remove_prefetched_objects()
            replace(self.instance, field, list(objs))

        def add(self, *objs: Any, through_defaults: Any = None) -> None:
            """Append files not held yet, after the last one."""
            self._remove_prefetched_objects()
            rows = self.through._default_manager.filter(**self._mine()).order_by(POSITION)
            ids = list(rows.values_list(f"{FILE}_id", flat=True))
            held = {str(pk) for pk in ids}
            replace(
                self.instance, field, ids + [pk for pk in map(_pk, objs) if str(pk) not in held]
            )

        def remove(self, *objs: Any) -> None:
            """Let go of these files (dated for the cleanup's grace); the rest keep their order."""
            super().remove(*objs)
            _let_go([_pk(obj) for obj in objs])

        def clear(self) -> None:
            """Let go of every file (dated for the cleanup's grace)."""
            ids = list(
                self.through._default_manager.filter(**self._mine()).values_list(
                    f"{FILE}_id", flat=True
                )
            )
            super().clear()
            _let_go(ids)

        def _mine(self) -> dict[str, Any]:
            """Filter the through rows to this object's."""
            return {self.source_field_name: self.instance}

    return OrderedMediaFiles


def _pk(value: Any) -> Any:
    """Return a record's primary key, given the record or its key."""
    return value.pk if isinstance(value, models.Model) else value


def replace(instance: models.Model, field: "MediaFilesField", records: Sequence[Any]) -> None:
    """Make an object's field hold exactly these records (or ids), in this order."""
    ids = [_pk(record) for record in records]
    if len({str(pk) for pk in ids}) != len(ids):
        raise ValueError(f"A file may be in {field.field_id} only once.")
    through = through_of(field)
    owner = field.m2m_field_name()
    with transaction.atomic():
        rows = through._default_manager.filter(**{owner: instance})
        before = list(rows.order_by(POSITION).values_list(f"{FILE}_id", flat=True))
        if [str(pk) for pk in before] == [str(pk) for pk in ids]:
            return
        # Rewritten whole: moving rows one by one would trip the unique (object, position).
        rows.delete()
        through._default_manager.bulk_create(
            through(**{owner: instance, f"{FILE}_id": pk, POSITION: position})
            for position, pk in enumerate(ids)
        )
        kept = {str(pk) for pk in ids}
        _let_go([pk for pk in before if str(pk) not in kept])


def _let_go(ids: Sequence[Any]) -> None:
    """Date records a list let go of, so their cleanup waits its grace period."""
    from uploads.models import MediaFile  # not at import: models of other apps import this module

    if ids:
        MediaFile.objects.filter(pk__in=ids).update(updated_at=timezone.now())
