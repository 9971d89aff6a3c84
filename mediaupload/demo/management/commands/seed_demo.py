"""`manage.py seed_demo`: a show and an episode with real files, attached with `uploads.attach`."""

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

import uploads
from mediaupload.demo.models import Episode, Show
from uploads import storage
from uploads.attaching import AttachError
from uploads.models import MediaFile

SHOW_TITLE = "Sample show"
SCRIPT = "PILOT\n\nA short test pattern, four seconds long, made by ffmpeg when the demo started.\n"


class Command(BaseCommand):
    """Seed the demo: a show with a poster and, where ffmpeg exists, an episode with a video and
    its script. Does nothing while the sample show's poster is in the bucket (the local S3 forgets
    its objects when it stops: then the files are attached again)."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the owner of the seeded files."""
        parser.add_argument("--owner", default="demo", help="Whose files they are (default: demo).")

    def handle(self, *args: Any, **options: Any) -> None:
        """Make the files, attach them, and save the show and its episode."""
        show = Show.objects.filter(title=SHOW_TITLE).select_related("poster").first()
        if show is not None and show.poster is not None and _in_the_bucket(show.poster):
            return
        users = get_user_model()
        try:
            owner = users._default_manager.get_by_natural_key(options["owner"])
        except users.DoesNotExist as error:
            raise CommandError(f"No user is named {options['owner']!r}.") from error
        try:
            self._seed(owner, show or Show(title=SHOW_TITLE))
        except AttachError as error:
            raise CommandError(f"Seeding the demo failed: {error}") from error

    def _seed(self, owner: Any, show: Show) -> None:
        """Attach a poster, a video and a script, and save the objects that hold them."""
        show.poster = uploads.attach(
            _poster_png(), owner=owner, field="demo.show.poster", filename="poster.png"
        )
        show.save()
        with tempfile.TemporaryDirectory() as folder:
            video_path = _test_pattern(Path(folder) / "pilot.mp4")
            if video_path is None:
                self.stdout.write("seed_demo: no ffmpeg here, so the show has no episode.")
                return
            video = uploads.attach(video_path, owner=owner, field="demo.episode.video")
        script = uploads.attach(
            SCRIPT.encode(), owner=owner, field="demo.episode.script", filename="pilot.txt"
        )
        Episode.objects.update_or_create(
            show=show, title="Pilot", defaults={"video": video, "script": script}
        )
        self.stdout.write(f"seed_demo: {SHOW_TITLE!r} with its poster and the episode 'Pilot'.")


def _in_the_bucket(media_file: MediaFile) -> bool:
    """Tell whether the record's object is still stored."""
    try:
        storage.head_object(media_file.key)
    except storage.ObjectNotFound:
        return False
    return True


def _poster_png() -> bytes:
    """A 1280x720 poster: a two-colour gradient (Pillow, from the `analysis` extra)."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((1280, 720))
    poster = Image.merge("RGB", (gradient, gradient.rotate(90), Image.new("L", (1280, 720), 140)))
    buffer = io.BytesIO()
    poster.save(buffer, format="PNG")
    return buffer.getvalue()


def _test_pattern(path: Path) -> Path | None:
    """Make a four-second MP4 test pattern with ffmpeg, or return None without ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    command = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"]
    command += ["-t", "4", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]
    subprocess.run(command, check=True, timeout=60)
    return path
