"""The reading solver: splits of digit runs, traceless blanks, a spurious value, column rules."""

import itertools
import random
import re
import time

from extractor.read.damaged import RowReadings, column_pass
from extractor.read.solver import Item, enumerate_readings, fewest_blanks, values_of

R1 = [(0, 7)]
R4 = [(0, 5), (5, 10), (10, 15)]


def run(text: str) -> Item:
    return Item(text, "number", int(text) if text.isdigit() else None)


def vals(search):
    return sorted((values_of(r) for r in search.readings), key=lambda v: [(x is None, x or 0) for x in v])


def test_a_glued_row_has_one_split_that_adds_up():
    got = fewest_blanks([run("412000144")], 7, groups=R1)
    assert vals(got) == [(41, 2, 0, 0, 0, 1, 44)] and got.inserted == 0


def test_no_leading_zeros_and_at_most_n_digits_a_cell():
    got = enumerate_readings([run("1050100106")], 7, groups=R1, inserted=None, limit=10_000)
    for r in got.readings:
        for p in r:
            assert p is None or not re.match(r"^0\d", p.text)
    assert not enumerate_readings([run("12345671234567")], 2, groups=[(0, 2)], max_digits=6).readings
    assert vals(enumerate_readings([run("12345671234567")], 2, groups=[(0, 2)], max_digits=7)) == [(1234567, 1234567)]


def test_the_total_comes_last_and_is_the_sum():
    # 1 10 0 0 0 0 11 and 11 0 0 0 0 0 11 both add up: R1 alone cannot choose.
    assert vals(fewest_blanks([run("110000011")], 7, groups=R1)) == [(1, 10, 0, 0, 0, 0, 11), (11, 0, 0, 0, 0, 0, 11)]


def test_fewest_traceless_blanks_first():
    got = fewest_blanks([run("1111")], 7, groups=R1)
    assert got.inserted == 5
    assert (11, None, None, None, None, None, 11) in vals(got) and len(got.readings) == 6
    got = fewest_blanks([run("000000")], 7, groups=R1)
    assert got.inserted == 1 and len(got.readings) == 7  # the blank may be any cell


def test_separated_values_with_a_lost_blank():
    items = [run(x) for x in "8 2 0 0 0 10".split()]
    got = fewest_blanks(items, 7, groups=R1)
    # Splitting 10 into 1|0 breaks R1, so one blank is assumed, anywhere before the total.
    assert got.inserted == 1 and len(got.readings) == 6
    assert all(v[-1] == 10 for v in vals(got))


def test_printed_blanks_are_cells():
    items = [run("3"), Item("", "blank"), run("0"), run("0"), run("0"), run("0"), run("3")]
    assert vals(fewest_blanks(items, 7, groups=R1)) == [(3, None, 0, 0, 0, 0, 3)]


def test_one_spurious_value():
    items = [run(x) for x in "0 0 0 0 0 8 0 0 0 0 8 0 0 0 0 0".split()]
    got = enumerate_readings(items, 15, groups=R4, split=False, inserted=0, drop=1)
    assert vals(got) == [(0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 0, 0)]
    # glued, the spurious digit may be a piece of the run
    got = enumerate_readings([run("0000080000800000")], 15, groups=R4, inserted=0, drop=1, drop_parts=True)
    assert vals(got) == [(0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 0, 0)]


def test_appeals_groups_each_add_up():
    assert vals(fewest_blanks([run("001010002200000")], 15, groups=R4)) == [(0, 0, 1, 0, 1, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0)]


def test_no_sums_lists_every_split():
    assert vals(fewest_blanks([run("5048")], 3)) == [(5, 0, 48), (50, 4, 8)]


def test_negative_change_and_decimal_amounts():
    def ok(i, v, t):
        return v is None or (i == 1 and isinstance(v, int)) or v >= 0

    assert (10, -2, 70) in vals(fewest_blanks([Item("10-270", "number", None)], 3, cell_ok=ok))
    got = fewest_blanks([Item("224252.311082", "number", 224252.311082)], 2)
    assert (2, 24252.311082) in vals(got) and (22, 4252.311082) in vals(got)


def brute(digits: str, width: int, groups, max_digits=6):
    """Every reading by brute force: cut points, then blank positions."""
    out = set()
    n = len(digits)
    for k in range(1, min(width, n) + 1):
        for cuts in itertools.combinations(range(1, n), k - 1):
            bounds = (0, *cuts, n)
            parts = [digits[a:b] for a, b in zip(bounds, bounds[1:])]
            if any(len(p) > 1 and p[0] == "0" for p in parts):
                continue
            if k > 1 and any(len(p) > max_digits for p in parts):
                continue
            for pos in itertools.combinations(range(width), k):
                cells = [None] * width
                for i, p in zip(pos, parts):
                    cells[i] = int(p)
                if all(sum(c or 0 for c in cells[lo:hi - 1]) == (cells[hi - 1] or 0) for lo, hi in groups):
                    out.add(tuple(cells))
    return out


def test_matches_brute_force_on_random_runs():
    rng = random.Random(7)
    for _ in range(150):
        width = rng.choice([3, 4, 5])
        digits = "".join(rng.choice("0001123") for _ in range(rng.randint(1, 7)))
        groups = [(0, width)]
        got = enumerate_readings([run(digits)], width, groups=groups, inserted=None, limit=100_000)
        assert set(values_of(r) for r in got.readings) == brute(digits, width, groups), digits


def test_column_rules_choose_between_row_readings():
    # new_received glued "110000011": 1 10 … or 11 0 …; R3 with carried 0, processed 11, forward 0 decides.
    def rr(*rows):
        return RowReadings("short", [], [tuple(_tok(v) for v in r) for r in rows])

    rows = {
        "new_received": rr((1, 10, 0, 0, 0, 0, 11), (11, 0, 0, 0, 0, 0, 11)),
        "carried_over": rr((0,) * 7),
        "disclosed": rr((11, 0, 0, 0, 0, 0, 11)),
        "total_processed": rr((11, 0, 0, 0, 0, 0, 11)),
        "carried_forward": rr((0,) * 7),
    }
    got = column_pass(rows, r2=True, r3=True)
    assert got.count == 1 and got.feasible["new_received"] == [1]


def _tok(v):
    from extractor.document import Location
    from extractor.read.cells import Token

    return Token("number", str(v), Location(), v)


def test_long_runs_are_fast():
    t = time.perf_counter()
    fewest_blanks([run("102030405060210")], 7, groups=R1)
    fewest_blanks([run("12345678910111213145")], 7, groups=R1)  # no reading: the search must still stop soon
    assert time.perf_counter() - t < 1.0


# ---------------------------------------------------------------- outside evidence (the narrative's figures)

def _run_tok(text: str):
    from extractor.document import Location
    from extractor.read.cells import Token
    from extractor.textnorm import parse_number

    return Token("number", text, Location(), parse_number(text))


def _lawsuits(n: int):
    from extractor.read.damaged import Check

    return Check(f"lawsuits {n}", lambda v: (v[9] or 0) + (v[14] or 0) == n)


def test_evidence_rules_out_readings_of_damaged_material_only():
    from extractor.read.damaged import row_readings

    glued = [_run_tok("0000080000800000")]
    alone = row_readings(glued, 15, R4)
    assert len(alone.cands) == 875 and not any(alone.dropped) and not alone.evidence
    # 8 lawsuits: no reading without a spurious value has them; with one, exactly one does.
    got = row_readings(glued, 15, R4, check=_lawsuits(8))
    assert [got.values(i) for i in range(len(got.cands))] == [(0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 0, 0)]
    assert all(got.dropped) and "every reading without a spurious value" in got.evidence
    # 80 lawsuits: the readings without a spurious value that have them are kept, the others ruled out.
    got = row_readings(glued, 15, R4, check=_lawsuits(80))
    assert 0 < len(got.cands) < 875 and not any(got.dropped) and "rules out" in got.evidence
    assert all((got.values(i)[9] or 0) + (got.values(i)[14] or 0) == 80 for i in range(len(got.cands)))
    # A figure no reading has: not used at all.
    got = row_readings(glued, 15, R4, check=_lawsuits(7))
    assert len(got.cands) == 875 and not got.evidence
    # A clear row is the printed reading, whatever the evidence says.
    clear = [_run_tok(x) for x in "0 0 0 0 0 8 0 0 0 8 0 0 0 0 0".split()]
    got = row_readings(clear, 15, R4, check=_lawsuits(3))
    assert got.kind == "clear" and got.values(0)[9] == 8


def test_figures_check_uses_only_figures_whose_cells_are_known():
    from extractor.read.evidence import Figure, figures_check

    keys = [f"appeals.lawsuit_direct.{o}" for o in ("upheld", "corrected", "other", "pending", "total")]
    lawsuits = Figure(("appeals.lawsuit_direct.total", "appeals.lawsuit_after_review.total"), 8, "行政诉讼案件8件")
    review = Figure(("appeals.admin_review.total",), 1, "行政复议1件")
    assert figures_check(keys, [lawsuits, review]) is None  # 复议后起诉's total is not known
    got = figures_check(keys, [lawsuits, review], known={"appeals.lawsuit_after_review.total": 3})
    assert got is not None and "行政诉讼案件8件" in got.what and "行政复议" not in got.what
    assert got.ok((5, 0, 0, 0, 5)) and not got.ok((8, 0, 0, 0, 8))
    got = figures_check(keys, [lawsuits], known={"appeals.lawsuit_after_review.total": None})  # null counts as 0
    assert got.ok((8, 0, 0, 0, 8)) and not got.ok((5, 0, 0, 0, 5))
