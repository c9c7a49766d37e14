from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
GOLD = ROOT / "gold"
SAMPLE_PDF = SHARED / "samples" / "2024_jiangsu_huaian_hongze_district_gov.pdf"


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    paths = sorted(SEEDS.glob("*.txt"))
    if not paths:
        pytest.skip("../shared/seeds is not beside this checkout")
    return paths
