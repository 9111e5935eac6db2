import pytest


@pytest.fixture(autouse=True)
def _bundle_root(settings, tmp_path):
    """Built bundles go to the test's own directory."""
    settings.PB_BUNDLE_ROOT = tmp_path / "bundles"
    settings.MEDIA_ROOT = tmp_path / "media"
