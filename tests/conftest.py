import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The seeds, samples and contract beside the checkout; OGI_SHARED points elsewhere (a path that does
# not exist shows what runs without them: every test that needs them skips).
SHARED = Path(os.environ.get("OGI_SHARED") or ROOT.parent / "shared")
SEEDS = SHARED / "seeds"
GOLD = ROOT / "gold"
SAMPLE_PDF = SHARED / "samples" / "2024_jiangsu_huaian_hongze_district_gov.pdf"


def skip_without_shared() -> None:
    """Skip the calling test when the seeds are not there."""
    if not any(SEEDS.glob("*.txt")):
        pytest.skip(f"no seeds in {SEEDS} (put ../shared beside the checkout, or set OGI_SHARED)")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "shared: reads the seeds in ../shared (OGI_SHARED); skips without them")


def pytest_runtest_setup(item) -> None:
    if item.get_closest_marker("shared"):
        skip_without_shared()


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    skip_without_shared()
    return sorted(SEEDS.glob("*.txt"))
