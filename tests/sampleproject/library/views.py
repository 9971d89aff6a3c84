"""The team's own lesson pages: a plain ModelForm outside the admin, and a page that shows a
lesson's files with the `uploads_tags` template tags."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from tests.sampleproject.library.models import Lesson


class LessonForm(forms.ModelForm):  # type: ignore[type-arg]
    """A lesson's title, video and thumbnail."""

    class Meta:
        model = Lesson
        fields = ["title", "video", "thumbnail"]


@login_required
def edit_lesson(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add a lesson, or change one; the address may prefill fields, as in the admin."""
    lesson = get_object_or_404(Lesson, pk=pk) if pk else Lesson()
    form = LessonForm(request.POST or None, instance=lesson, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        return redirect("edit-lesson", pk=saved.pk)
    return render(request, "library/lesson_form.html", {"form": form})


def watch_lesson(request: HttpRequest, pk: int) -> HttpResponse:
    """A lesson's page: its video (with the poster analysis made) and its thumbnail."""
    lesson = get_object_or_404(Lesson.objects.select_related("video", "thumbnail"), pk=pk)
    return render(request, "library/lesson_detail.html", {"lesson": lesson})
