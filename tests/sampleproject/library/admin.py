"""The team's admin: lessons alone, and inline on their course."""

from django.contrib import admin

from tests.sampleproject.library.models import Course, Lesson


class LessonInline(admin.StackedInline):  # type: ignore[type-arg]
    """Lessons on their course's page."""

    model = Lesson
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Courses with their lessons."""

    inlines = [LessonInline]


admin.site.register(Lesson)
