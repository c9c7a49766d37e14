import json

from extractor.contract import GoldReport, Report, check_keys, keys_for

from conftest import GOLD


def test_key_counts_match_the_contract():
    assert len(keys_for("2021")) == 207
    assert len(keys_for("2019")) == 219


def test_every_gold_file_has_exactly_its_formats_keys():
    files = sorted(GOLD.glob("*.json"))
    assert files, "gold/ is empty"
    for p in files:
        g = GoldReport(**json.loads(p.read_text("utf-8")))
        assert check_keys(g.fields, g.meta.format) == [], p.name
        assert set(g.unscored) <= set(g.fields), p.name


def test_flat_form_round_trips_losslessly():
    for p in sorted(GOLD.glob("*.json")):
        flat = json.loads(p.read_text("utf-8"))
        report = Report.from_flat(flat)
        again = report.to_flat()
        assert again["fields"] == flat["fields"]
        assert again["meta"] == flat["meta"]
        assert list(again["fields"]) == list(flat["fields"])  # order kept too


def test_check_keys_names_missing_and_foreign_keys():
    fields = {k: 0 for k in keys_for("2021")}
    del fields["requests.new_received.total"]
    fields["active.procurement.items"] = 1  # a 2019-only cell
    problems = check_keys(fields, "2021")
    assert "missing key requests.new_received.total" in problems
    assert "key active.procurement.items is not in format 2021" in problems
