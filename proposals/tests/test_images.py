"""Uploaded photos (proposals/images.py): checked by content, size-limited, re-encoded without
metadata — on their own and through idea_submit, idea_edit and project_create_from_ideas."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

from budgets.phases import Phase
from core.errors import ValidationFailed
from proposals import images, services
from proposals.models import Idea
from tests.factories import CycleFactory

from .builders import counts, idea_input, make_project, move, submit

pytestmark = pytest.mark.django_db

CAMERA = "PB Test Camera Co"


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Model] = "Model 7"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (40.0, 43.0, 4.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (74.0, 2.0, 35.0)
    return exif


def jpeg_with_exif(size=(64, 32), orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format="JPEG", exif=_exif(orientation))
    return out.getvalue()


def png_with_metadata(size=(20, 10)) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Resident, 123 Grand St")
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 120, 60, 255)).save(out, format="PNG", pnginfo=info, exif=_exif())
    return out.getvalue()


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _has_metadata(im: Image.Image) -> bool:
    return bool(im.getexif()) or "exif" in im.info or any(k in im.info for k in ("Author", "xmp", "icc_profile"))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


# --- image_clean on its own --------------------------------------------------------------------------
def test_the_test_images_really_carry_metadata():
    with Image.open(io.BytesIO(jpeg_with_exif())) as im:
        assert im.getexif()[ExifTags.Base.Make] == CAMERA
        assert im.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    with Image.open(io.BytesIO(png_with_metadata())) as im:
        assert im.info["Author"].startswith("Jane") and im.getexif()[ExifTags.Base.Make] == CAMERA


@pytest.mark.parametrize(
    ("data", "name", "fmt", "mode", "size"),
    [
        (jpeg_with_exif(), "photo.jpg", "JPEG", "RGB", (64, 32)),
        (png_with_metadata(), "photo.png", "PNG", "RGBA", (20, 10)),
    ],
    ids=["jpeg", "png"],
)
def test_image_clean_re_encodes_without_metadata(data, name, fmt, mode, size):
    clean = images.image_clean(upload(data, name="IMG_0001.whatever"))
    assert clean.name == name  # named by content, not by the uploaded name
    with Image.open(io.BytesIO(clean.read())) as im:
        assert (im.format, im.mode, im.size) == (fmt, mode, size)
        assert not _has_metadata(im)
        assert CAMERA.encode() not in clean.file.getvalue()


def test_image_clean_keeps_the_orientation_the_exif_described():
    # Orientation 6: the camera was turned; the pixels are stored 64×32 and shown 32×64.
    clean = images.image_clean(upload(jpeg_with_exif(size=(64, 32), orientation=6)))
    with Image.open(io.BytesIO(clean.read())) as im:
        assert im.size == (32, 64)
        assert ExifTags.Base.Orientation not in im.getexif()


def test_webp_is_accepted():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, format="WEBP")
    assert images.image_clean(upload(out.getvalue(), name="p.webp")).name == "photo.webp"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Dear council, please fix the potholes.\n", id="text-named-jpg"),
        pytest.param(b"", id="empty"),
        pytest.param(jpeg_with_exif()[:200], id="truncated-jpeg"),
        pytest.param(b"GIF89a" + b"\x00" * 20, id="broken-gif"),
    ],
)
def test_non_images_are_refused(data):
    with pytest.raises(ValidationFailed) as exc:
        images.image_clean(upload(data))
    assert [str(m) for m in exc.value.extra["photo"]] == [str(images.MSG_NOT_AN_IMAGE)]


def test_a_real_image_of_an_unsupported_type_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="GIF")
    with pytest.raises(ValidationFailed) as exc:
        images.image_clean(upload(out.getvalue(), name="photo.gif"), field="image")
    assert [str(m) for m in exc.value.extra["image"]] == [str(images.MSG_NOT_AN_IMAGE)]


def test_files_over_5_mb_are_refused_even_if_the_declared_size_lies():
    big = upload(b"\xff\xd8" + b"0" * images.MAX_BYTES)
    with pytest.raises(ValidationFailed) as exc:
        images.image_clean(big)
    assert [str(m) for m in exc.value.extra["photo"]] == [str(images.MSG_TOO_LARGE)]
    lying = upload(b"\xff\xd8" + b"0" * images.MAX_BYTES)
    lying.size = 1000
    with pytest.raises(ValidationFailed) as exc:
        images.image_clean(lying)
    assert [str(m) for m in exc.value.extra["photo"]] == [str(images.MSG_TOO_LARGE)]


def test_too_many_pixels_are_refused(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    with pytest.raises(ValidationFailed) as exc:
        images.image_clean(upload(jpeg_with_exif(size=(11, 10))))
    assert [str(m) for m in exc.value.extra["photo"]] == [str(images.MSG_NOT_AN_IMAGE)]


# --- through the services ----------------------------------------------------------------------------
def test_idea_photo_is_stored_without_exif_or_gps(media, resident):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident, photo=upload(jpeg_with_exif(), name="IMG_2041.JPG"))
    idea = Idea.objects.get(pk=idea.pk)
    assert idea.photo.name.startswith("ideas/") and idea.photo.name.endswith(".jpg")
    path = media / idea.photo.name
    assert path.is_file()
    with Image.open(path) as im:
        assert (im.format, im.size) == ("JPEG", (64, 32))
        assert not im.getexif()
        assert "exif" not in im.info
    assert CAMERA.encode() not in path.read_bytes()


def test_png_photo_is_stored_without_metadata(media, resident):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident, photo=upload(png_with_metadata(), name="map.png", content_type="image/png"))
    with Image.open(media / Idea.objects.get(pk=idea.pk).photo.name) as im:
        assert im.format == "PNG" and not _has_metadata(im)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"not an image at all", images.MSG_NOT_AN_IMAGE, id="text-named-jpg"),
        pytest.param(b"\xff\xd8" + b"0" * images.MAX_BYTES, images.MSG_TOO_LARGE, id="over-5-mb"),
    ],
)
def test_bad_photo_refuses_the_idea_and_stores_nothing(media, resident, data, message):
    cycle = CycleFactory(ideas=True, wards="A")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        submit(cycle, resident, photo=upload(data, name="photo.jpg"))
    assert [str(m) for m in exc.value.extra["photo"]] == [str(message)]
    assert counts() == before
    assert stored_files(media) == []


def test_photo_added_on_edit_is_cleaned_too(media, resident):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident)
    services.idea_edit(actor=resident, idea=idea, data=idea_input(cycle, photo=upload(jpeg_with_exif())))
    idea = Idea.objects.get(pk=idea.pk)
    with Image.open(media / idea.photo.name) as im:
        assert not im.getexif()


def test_project_image_is_checked_and_cleaned(media, resident, official):
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, resident)
    move(cycle, official, Phase.VETTING)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        make_project(cycle, official, [idea], image=upload(b"<svg/>", name="p.png"))
    assert [str(m) for m in exc.value.extra["image"]] == [str(images.MSG_NOT_AN_IMAGE)]
    assert counts() == before and stored_files(media) == []
    project = make_project(cycle, official, [idea], image=upload(jpeg_with_exif()))
    assert project.image.name.startswith("projects/")
    with Image.open(media / project.image.name) as im:
        assert not im.getexif()
