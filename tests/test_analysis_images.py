"""Unit tests for image metadata and thumbnails; every image is drawn here with Pillow."""

import importlib.util
import io
import warnings
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, JpegImagePlugin, features

from tests.support.clips import png_bomb
from uploads.analysis.images import DEFAULT_MAX_PIXELS, inspect_image, shrink, thumbnail
from uploads.analysis.reasons import AnalysisFailed

CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "MPO": "image/jpeg",
}
QUADRANT_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))
GPS: dict[int, Any] = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (52.0, 22.0, 30.0),
}


def encode(image: Image.Image, pillow_format: str, **options) -> bytes:
    """Encode an image as Pillow would save it to a file."""
    output = io.BytesIO()
    image.save(output, pillow_format, **options)
    return output.getvalue()


def noise(size=(640, 480), mode="RGB", sigma=40) -> Image.Image:
    """Return an image that does not compress to nothing."""
    return Image.effect_noise(size, sigma).convert(mode)


def animation(pillow_format: str, frames: int = 3, **options) -> bytes:
    """Return an animation of solid frames in different colours."""
    still = [Image.new("RGB", (40, 30), QUADRANT_COLOURS[i % 4]) for i in range(frames)]
    return encode(still[0], pillow_format, save_all=True, append_images=still[1:], **options)


def quadrants(size=(64, 48)) -> Image.Image:
    """Return an image of four solid quadrants, so a turn or a mirror shows."""
    image = Image.new("RGB", size)
    width, height = size
    for index, colour in enumerate(QUADRANT_COLOURS):
        left, top = (index % 2) * width // 2, (index // 2) * height // 2
        image.paste(colour, (left, top, left + width // 2, top + height // 2))
    return image


def exif(orientation: int = 1, *, gps: bool = False) -> Image.Exif:
    """Return EXIF with an orientation and, if asked, a GPS position."""
    tags = Image.Exif()
    tags[ExifTags.Base.Orientation] = orientation
    tags[ExifTags.Base.Make] = "Test camera"
    if gps:
        tags.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    return tags


def failure(call, *args, **kwargs) -> str:
    """Return the reason a call fails with."""
    with pytest.raises(AnalysisFailed) as raised:
        call(*args, **kwargs)
    return raised.value.reason


def inspect(data: bytes, content_type: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Inspect with the default pixel limit."""
    return inspect_image(data, content_type=content_type, max_pixels=max_pixels)


def thumb(data: bytes, content_type: str, max_side: int = 320, image_format: str = "webp") -> bytes:
    """Make a thumbnail with the default pixel limit."""
    return thumbnail(
        data,
        content_type=content_type,
        max_side=max_side,
        image_format=image_format,
        max_pixels=DEFAULT_MAX_PIXELS,
    )


def opened(data: bytes) -> Image.Image:
    """Open and decode an output."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(colour, expected, tolerance=40) -> bool:
    """Tell whether a lossy colour is near the one drawn."""
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any decode of pixel data fail the test."""

    def refuse(self):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# Metadata


def test_a_png_reports_its_exact_size_and_the_schema():
    data = encode(noise((641, 479)), "PNG")
    assert inspect(data, "image/png") == {
        "kind": "image",
        "format": "png",
        "width": 641,
        "height": 479,
        "rotation": 0,
        "orientation": "landscape",
        "animated": False,
        "frames": 1,
    }


@pytest.mark.parametrize(
    ("size", "shape"), [((30, 40), "portrait"), ((40, 30), "landscape"), ((32, 32), "square")]
)
def test_the_orientation_names_the_displayed_shape(size, shape):
    assert inspect(encode(noise(size), "PNG"), "image/png")["orientation"] == shape


@pytest.mark.parametrize("pillow_format", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_every_still_format_reports_its_name_and_size(pillow_format):
    metadata = inspect(encode(noise((50, 70)), pillow_format), CONTENT_TYPES[pillow_format])
    assert (metadata["format"], metadata["width"], metadata["height"]) == (
        pillow_format.lower(),
        50,
        70,
    )
    assert (metadata["animated"], metadata["frames"]) == (False, 1)


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_an_avif_reports_its_size():
    metadata = inspect(encode(noise((50, 70)), "AVIF"), "image/avif")
    assert (metadata["format"], metadata["width"], metadata["height"]) == ("avif", 50, 70)


def test_a_jpeg_turned_by_exif_reports_its_displayed_size_without_decoding(no_decoding):
    data = encode(noise((640, 480)), "JPEG", exif=exif(6))
    metadata = inspect(data, "image/jpeg")
    assert (metadata["width"], metadata["height"], metadata["rotation"]) == (480, 640, 90)
    assert metadata["orientation"] == "portrait"
    assert "mirrored" not in metadata


@pytest.mark.parametrize(
    ("orientation", "rotation", "mirrored"),
    [
        (1, 0, False),
        (2, 0, True),
        (3, 180, False),
        (4, 180, True),
        (5, 270, True),
        (6, 90, False),
        (7, 90, True),
        (8, 270, False),
    ],
)
def test_every_exif_orientation_maps_to_a_rotation_and_a_mirror(orientation, rotation, mirrored):
    data = encode(noise((64, 48)), "JPEG", exif=exif(orientation))
    metadata = inspect(data, "image/jpeg")
    assert metadata["rotation"] == rotation
    assert metadata.get("mirrored", False) is mirrored
    assert (metadata["width"], metadata["height"]) == ((48, 64) if rotation % 180 else (64, 48))


def test_an_orientation_out_of_range_counts_as_upright():
    data = encode(noise((64, 48)), "JPEG", exif=exif(9))
    assert inspect(data, "image/jpeg")["rotation"] == 0


@pytest.mark.parametrize(
    ("pillow_format", "options"),
    [("GIF", {}), ("WEBP", {"lossless": True}), ("PNG", {}), ("TIFF", {})],
)
def test_frames_are_counted_and_only_animations_are_animated(pillow_format, options):
    metadata = inspect(animation(pillow_format, 3, **options), CONTENT_TYPES[pillow_format])
    assert metadata["frames"] == 3
    assert metadata["animated"] is (pillow_format != "TIFF")  # A TIFF's pages are no animation.


def test_a_jpeg_with_a_second_picture_is_still_a_jpeg_and_not_animated():
    data = encode(noise((64, 48)), "MPO", save_all=True, append_images=[noise((64, 48))])
    metadata = inspect(data, "image/jpeg")
    assert (metadata["format"], metadata["frames"], metadata["animated"]) == ("jpeg", 2, False)


def test_a_stream_is_read_like_bytes():
    data = encode(noise((64, 48)), "PNG")

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            return self.inner.readinto(buffer)

    for source in (io.BytesIO(data), io.BufferedReader(Unseekable())):
        assert inspect_image(source, content_type="image/png", max_pixels=10**6)["width"] == 64


# Excerpts


@pytest.mark.parametrize(
    ("pillow_format", "options", "head"),
    [
        ("PNG", {}, 64),  # The IHDR chunk.
        ("JPEG", {"exif": exif(6)}, 4096),  # The markers up to the frame header.
        ("GIF", {}, 1024),
        ("BMP", {}, 64),
        ("TIFF", {}, 1024),
        ("WEBP", {}, 64),  # Pillow wants the whole file: the RIFF header is read here.
        ("WEBP", {"lossless": True}, 64),
        ("WEBP", {"exif": exif(1)}, 64),  # The extended format (VP8X).
    ],
)
def test_the_first_bytes_of_an_image_are_enough_for_its_size(pillow_format, options, head):
    data = encode(noise((640, 480)), pillow_format, **options)
    assert len(data) > 4 * head
    metadata = inspect(data[:head], CONTENT_TYPES[pillow_format])
    expected = (480, 640) if pillow_format == "JPEG" else (640, 480)
    assert (metadata["format"], metadata["width"], metadata["height"]) == (
        pillow_format.lower(),
        *expected,
    )


@pytest.mark.parametrize(
    ("pillow_format", "options"),
    [("GIF", {}), ("WEBP", {"lossless": True}), ("WEBP", {"quality": 50})],
)
def test_an_excerpt_of_an_animation_counts_the_frames_it_holds(pillow_format, options):
    frames = [noise((200, 150), sigma=20 + 10 * i) for i in range(4)]
    data = encode(frames[0], pillow_format, save_all=True, append_images=frames[1:], **options)
    # Cut in the middle of the third frame, and at every byte around a frame boundary.
    cuts = [len(data) * 5 // 8, *range(len(data) // 2 - 300, len(data) // 2 + 300, 7)]
    for cut in cuts:
        metadata = inspect(data[:cut], CONTENT_TYPES[pillow_format])
        assert (metadata["width"], metadata["height"]) == (200, 150)
        assert 2 <= metadata["frames"] <= 3
        assert metadata["animated"] is True
    assert inspect(data, CONTENT_TYPES[pillow_format])["frames"] == 4


def test_a_gif_cut_at_any_byte_of_a_frame_header_counts_the_whole_frames_before():
    frames = [noise((200, 150), sigma=20 + 10 * i) for i in range(3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    # The first two frames encode the same alone (but for the trailer): the third starts there.
    third = len(encode(frames[0], "GIF", save_all=True, append_images=frames[1:2])) - 1
    for cut in range(third, third + 40):
        assert inspect(data[:cut], "image/gif")["frames"] in (2, 3)


def test_an_excerpt_without_the_header_is_unreadable():
    data = encode(noise((640, 480)), "JPEG")
    assert failure(inspect, data[:100], "image/jpeg") == "unreadable"


# Pixel limits


def test_a_png_bomb_is_refused_from_its_header_before_anything_decodes(no_decoding):
    bomb = png_bomb()
    assert len(bomb) < 200_000  # 400 Mpx in a small file: what makes it a bomb.
    assert failure(inspect, bomb, "image/png") == "too_many_pixels"
    assert failure(thumb, bomb, "image/png") == "too_many_pixels"


def test_the_limit_is_ours_even_with_pillows_own_check_switched_off(monkeypatch, no_decoding):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert failure(inspect, png_bomb(), "image/png") == "too_many_pixels"


def test_the_limit_applies_per_call_up_to_and_including_max_pixels():
    data = encode(noise((100, 50)), "PNG")
    assert inspect(data, "image/png", max_pixels=5000)["width"] == 100
    assert failure(inspect, data, "image/png", max_pixels=4999) == "too_many_pixels"
    kwargs = {"content_type": "image/png", "max_side": 64, "image_format": "webp"}
    assert failure(thumbnail, data, max_pixels=4999, **kwargs) == "too_many_pixels"
    assert failure(shrink, data, max_side=64, image_format="webp", max_pixels=4999) == (
        "too_many_pixels"
    )


def test_pillows_bomb_warning_is_an_error_and_no_filter_is_left_behind(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 40x40 is between 1x and 2x.
    data = encode(noise((40, 40)), "PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # The warning would pass unnoticed: it still fails.
        filters = list(warnings.filters)
        assert failure(inspect, data, "image/png") == "too_many_pixels"
        assert warnings.filters == filters


# Refusals


def test_bytes_of_another_format_than_declared_are_an_unsupported_format():
    gif = encode(noise((40, 30)), "GIF")
    assert failure(inspect, gif, "image/png") == "unsupported_format"
    tiff = encode(noise((40, 30)), "TIFF")
    assert failure(inspect, tiff, "image/png") == "unsupported_format"
    assert failure(thumb, gif, "image/jpeg") == "unsupported_format"


def test_a_type_that_is_not_an_image_we_read_is_an_unsupported_format():
    data = encode(noise((40, 30)), "PNG")
    assert failure(inspect, data, "video/mp4") == "unsupported_format"
    assert failure(inspect, data, "image/svg+xml") == "unsupported_format"


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all, only some text" * 20, bytes(range(256)) * 8],
)
def test_garbage_is_unreadable(data):
    assert failure(inspect, data, "image/png") == "unreadable"
    assert failure(thumb, data, "image/jpeg") == "unreadable"


def test_a_corrupt_image_body_is_unreadable_for_a_thumbnail():
    data = bytearray(encode(noise((200, 150)), "PNG"))
    data[200:400] = bytes(200)  # The header still reads; the pixels do not.
    assert inspect(bytes(data), "image/png")["width"] == 200
    assert failure(thumb, bytes(data), "image/png") == "unreadable"


def test_a_truncated_image_is_unreadable_for_a_thumbnail():
    data = encode(noise((640, 480)), "JPEG")
    assert failure(thumb, data[: len(data) // 2], "image/jpeg") == "unreadable"


@pytest.mark.parametrize("content_type", ["image/heic", "image/heif"])
def test_heic_without_a_decoder_is_no_decoder(content_type):
    Image.init()
    if "HEIF" in Image.OPEN or importlib.util.find_spec("pillow_heif"):
        pytest.skip("a HEIF plugin (pillow-heif) is installed")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    assert failure(inspect, heic, content_type) == "no_decoder"
    assert failure(thumb, heic, content_type) == "no_decoder"


def test_no_decoder_when_pillow_lacks_the_codec(monkeypatch):
    monkeypatch.setattr(features, "check", lambda feature: feature != "avif")
    assert failure(inspect, b"\x00\x00\x00\x1cftypavif", "image/avif") == "no_decoder"


def test_the_reason_never_carries_pillows_words():
    with pytest.raises(AnalysisFailed) as raised:
        inspect(b"garbage" * 10, "image/png")
    assert str(raised.value) == "The file could not be read as the type it was uploaded as."


# Thumbnails


def test_a_thumbnail_of_a_turned_jpeg_is_upright_small_and_has_no_exif():
    data = encode(noise((640, 480)), "JPEG", exif=exif(6, gps=True))
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # The source has.
    for image_format in ("webp", "jpeg"):
        result = opened(thumb(data, "image/jpeg", max_side=320, image_format=image_format))
        assert result.format == image_format.upper()
        assert result.size == (240, 320)
        assert "exif" not in result.info
        assert not result.getexif()
        assert ExifTags.IFD.GPSInfo not in result.getexif()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_thumbnail_is_turned_as_exif_transpose_turns_it(orientation):
    source = quadrants()
    data = encode(source, "JPEG", quality=95, exif=exif(orientation))
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    result = opened(thumb(data, "image/jpeg", max_side=64, image_format="webp")).convert("RGB")
    assert result.size == expected.size
    width, height = result.size
    for x in (width // 4, 3 * width // 4):
        for y in (height // 4, 3 * height // 4):
            assert close_to(result.getpixel((x, y)), expected.getpixel((x, y)))


def test_a_thumbnail_never_upscales():
    result = opened(thumb(encode(noise((100, 50)), "PNG"), "image/png", max_side=512))
    assert result.size == (100, 50)


def test_a_thumbnail_shrinks_the_longer_side_to_max_side():
    result = opened(thumb(encode(noise((1000, 400)), "PNG"), "image/png", max_side=250))
    assert result.size == (250, 100)


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(monkeypatch):
    drafts = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        drafts.append((mode, size))
        return original(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    result = opened(thumb(encode(noise((2400, 1600)), "JPEG"), "image/jpeg", max_side=200))
    assert result.size == (200, 133)
    assert drafts[0] == ("RGB", (400, 400))


def test_a_transparent_png_becomes_a_jpeg_on_white():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 50, 100))
    result = opened(thumb(encode(image, "PNG"), "image/png", max_side=100, image_format="jpeg"))
    assert result.mode == "RGB"
    assert close_to(result.getpixel((75, 50)), (255, 255, 255), 8)
    assert close_to(result.getpixel((25, 50)), (200, 0, 0))


def test_a_webp_keeps_transparency_only_when_there_is_some():
    clear = Image.new("RGBA", (60, 60), (0, 0, 255, 0))
    clear.paste((0, 0, 255, 255), (0, 0, 30, 60))
    result = opened(thumb(encode(clear, "PNG"), "image/png", max_side=60))
    assert result.mode == "RGBA"
    see_through = result.getpixel((45, 30))
    assert isinstance(see_through, tuple) and see_through[3] == 0
    opaque = Image.new("RGBA", (60, 60), (0, 0, 255, 255))
    assert opened(thumb(encode(opaque, "PNG"), "image/png", max_side=60)).mode == "RGB"


def test_the_thumbnail_of_an_animation_is_its_first_frame():
    for pillow_format in ("GIF", "WEBP", "PNG"):
        data = animation(pillow_format, 3)
        result = opened(thumb(data, CONTENT_TYPES[pillow_format], max_side=40))
        assert getattr(result, "n_frames", 1) == 1
        assert close_to(result.convert("RGB").getpixel((20, 15)), QUADRANT_COLOURS[0])


@pytest.mark.parametrize(
    ("mode", "fill", "expected"),
    [
        ("I;16", 32768, (128, 128, 128)),  # 16-bit grey keeps its top 8 bits.
        ("L", 77, (77, 77, 77)),
        ("1", 1, (255, 255, 255)),
        ("P", 3, (3, 3, 3)),  # Pillow's default palette is a grey ramp.
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    ],
)
def test_every_mode_comes_out_as_rgb(mode, fill, expected):
    pillow_format = "JPEG" if mode == "CMYK" else "PNG"
    data = encode(Image.new(mode, (40, 40), fill), pillow_format)
    content_type = CONTENT_TYPES[pillow_format]
    result = opened(thumb(data, content_type, max_side=40, image_format="jpeg"))
    assert result.mode == "RGB"
    assert close_to(result.getpixel((20, 20)), expected, 8)


def test_no_metadata_survives_a_thumbnail():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    source = noise((300, 200))
    sources = {
        "image/jpeg": encode(source, "JPEG", exif=exif(1, gps=True), icc_profile=srgb, xmp=xmp),
        "image/png": encode(source, "PNG", exif=exif(1, gps=True), icc_profile=srgb),
        "image/webp": encode(source, "WEBP", exif=exif(1, gps=True), icc_profile=srgb, xmp=xmp),
    }
    for content_type, data in sources.items():
        assert "exif" in Image.open(io.BytesIO(data)).info
        for image_format in ("webp", "jpeg"):
            result = opened(thumb(data, content_type, max_side=100, image_format=image_format))
            assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp"} & set(result.info)
            assert not result.getexif()


def test_an_embedded_colour_profile_is_converted_to_srgb(monkeypatch):
    conversions = []
    original = ImageCms.profileToProfile

    def spy(image, *args, **kwargs):
        conversions.append(image.mode)
        return original(image, *args, **kwargs)

    monkeypatch.setattr(ImageCms, "profileToProfile", spy)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (40, 40), (10, 120, 230)), "PNG", icc_profile=srgb)
    result = opened(thumb(data, "image/png", max_side=40, image_format="jpeg"))
    assert conversions == ["RGB"]
    assert close_to(result.getpixel((20, 20)), (10, 120, 230), 8)


def test_a_broken_colour_profile_is_ignored():
    data = encode(Image.new("RGB", (40, 40), (10, 120, 230)), "PNG", icc_profile=b"not a profile")
    result = opened(thumb(data, "image/png", max_side=40, image_format="jpeg"))
    assert close_to(result.getpixel((20, 20)), (10, 120, 230), 8)


def test_a_thumbnail_reads_a_stream():
    data = encode(noise((300, 200)), "PNG")
    result = thumbnail(
        io.BytesIO(data),
        content_type="image/png",
        max_side=30,
        image_format="webp",
        max_pixels=DEFAULT_MAX_PIXELS,
    )
    assert opened(result).size == (30, 20)


@pytest.mark.parametrize(("max_side", "image_format"), [(0, "webp"), (100, "png"), (100, "JPEG")])
def test_a_request_no_caller_should_make_is_a_value_error(max_side, image_format):
    data = encode(noise((30, 20)), "PNG")
    with pytest.raises(ValueError, match=r"max_side|image_format"):
        thumb(data, "image/png", max_side=max_side, image_format=image_format)
    with pytest.raises(ValueError, match=r"max_side|image_format"):
        shrink(data, max_side=max_side, image_format=image_format)


# Posters


@pytest.mark.parametrize("pillow_format", ["PNG", "JPEG", "WEBP"])
def test_a_poster_frame_is_shrunk(pillow_format):
    poster = encode(Image.new("RGB", (1280, 720), (40, 90, 160)), pillow_format)
    result = opened(shrink(poster, max_side=320, image_format="jpeg"))
    assert (result.format, result.size) == ("JPEG", (320, 180))
    assert close_to(result.getpixel((160, 90)), (40, 90, 160), 8)
    assert opened(shrink(poster, max_side=4000, image_format="webp")).size == (1280, 720)


def test_a_poster_in_another_format_or_garbage_is_unreadable():
    assert failure(shrink, encode(noise((64, 48)), "GIF"), max_side=32, image_format="webp") == (
        "unreadable"
    )
    assert failure(shrink, b"\x89PNG\r\n\x1a\nbroken", max_side=32, image_format="webp") == (
        "unreadable"
    )
