"""The bilingual catalogue: complete, consistent with the contract, one court vocabulary."""

from __future__ import annotations

import ast
import csv
import io
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.text import (
    catalogue,
    category_values,
    fmt_percent,
    fmt_points,
    fmt_wan_yuan,
    placeholders,
    rung_label,
    t,
    value_label,
)

TEXT_ROOM = Path(__file__).resolve().parents[2] / "crossexec_ml" / "text"


def _csv_rows() -> list[list[str]]:
    raw = resources.files("crossexec_ml.text").joinpath("catalogue.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "catalogue.csv must have no BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8"))))


def _contract(name: str) -> list[dict[str, str]]:
    folder = resources.files("crossexec_ml").joinpath("data", "contract")
    return list(csv.DictReader(io.StringIO(folder.joinpath(name).read_text("utf-8"))))


CONTRACTS = ("cases_schema.csv", "handlers_schema.csv")


# --------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------


def test_header_and_every_key_has_both_languages():
    rows = _csv_rows()
    assert rows[0] == ["key", "zh", "en"]
    for row in rows[1:]:
        assert len(row) == 3, row
        key, zh, en = row
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", key), key
        assert zh.strip(), f"{key}: empty zh"
        assert en.strip(), f"{key}: empty en"


def test_keys_unique_and_sorted():
    keys = [row[0] for row in _csv_rows()[1:]]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    assert keys == sorted(keys)
    assert len(catalogue()) == len(keys)


def test_zh_side_is_chinese():
    # A zh text without any Chinese character is an English copy by mistake; only the
    # separators and the percent format are language-neutral.
    neutral = {"explain.join", "explain.list_join", "fmt.percent", "guidance.step_join"}
    no_cjk = {k for k, (zh, _en) in catalogue().items() if not re.search(r"[\u4e00-\u9fff]", zh)}
    assert no_cjk == neutral


def test_placeholders_match_between_languages():
    for key, (zh, en) in catalogue().items():
        assert placeholders(zh) == placeholders(en), key


# --------------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", CONTRACTS)
def test_every_category_value_has_both_labels(contract):
    checked = 0
    for spec in _contract(contract):
        if spec["dtype"] != "category":
            continue
        for value in spec["allowed"].split("|"):
            zh, en = catalogue()[f"value.{spec['name']}.{value}"]
            assert zh and en
            assert value_label(spec["name"], value, "zh") == zh
            assert value_label(spec["name"], value, "en") == en
            checked += 1
    if contract == "cases_schema.csv":
        assert checked > 40


def test_category_values_read_from_the_contract():
    assert category_values()["debtor_type"][0] == "natural_person"
    assert "higher_court" in category_values()["ladder_stage"]
    assert "is_livelihood" not in category_values()


@pytest.mark.parametrize("contract", CONTRACTS)
def test_column_labels_equal_the_contract(contract):
    # The contract is the source of truth: the catalogue holds copies, checked here.
    for spec in _contract(contract):
        assert t(f"column.{spec['name']}") == spec["label_zh"], spec["name"]


def test_no_stray_value_keys():
    allowed = category_values()
    for key in catalogue():
        if key.startswith("value."):
            _, column, value = key.split(".", 2)
            assert value in allowed.get(column, ()), key


# --------------------------------------------------------------------------------------------
# The court vocabulary
# --------------------------------------------------------------------------------------------

RUNG_SPELLING = "提级/指令执行"
ACTION_SPELLING = "报请提级/指令执行"


def test_higher_court_spellings():
    assert t("rung.higher_court") == RUNG_SPELLING
    assert t("rung.higher_court.full") == RUNG_SPELLING
    assert t("action.escalate_higher_court") == ACTION_SPELLING
    assert t("value.cross_mode.elevated") == "提级执行"
    for key, pair in catalogue().items():
        if key == "value.cross_mode.elevated":
            # The historical mode 提级执行 (the higher court executes the case itself) is a
            # value of cross_mode, not a name of the rung: the one exemption.
            continue
        for text in pair:
            rest = text.replace(ACTION_SPELLING, "").replace(RUNG_SPELLING, "")
            assert "提级" not in rest, (key, text)
            assert "指令" not in rest or "指令其他法院" in rest or key.startswith("value."), key


def test_the_request_spelling_only_names_the_action():
    holders = {k for k, (zh, _en) in catalogue().items() if ACTION_SPELLING in zh}
    assert holders == {"action.escalate_higher_court", "column.escalation", "picker.escalate"}


def test_rung_forms():
    assert [t(f"rung.{r}") for r in ("keep", "intra_team", "inter_team")] == [
        "维持",
        "团队内",
        "团队间",
    ]
    assert rung_label("intra_team", "zh", long=True).startswith("建议团队内交叉执行")
    assert rung_label("higher_court", "en") == "higher court"
    with pytest.raises(ValueError, match="unknown rung 'original'"):
        rung_label("original", "zh")


def test_booleans_units_and_points():
    assert (t("bool.true"), t("bool.false")) == ("是", "否")
    assert (t("bool.true", "en"), t("bool.false", "en")) == ("yes", "no")
    assert t("unit.wan_yuan") == "万元"
    assert t("unit.points") == "个百分点"
    # Gains read 个百分点 everywhere: no bare 百分点 after a number or a parenthesis.
    for key, (zh, _en) in catalogue().items():
        assert not re.search(r"[（(\d}]百分点", zh), key
    # Amounts shown to leaders are in 万元, never in bare yuan in a header.
    for key, (zh, _en) in catalogue().items():
        assert "（元）" not in zh, key


# --------------------------------------------------------------------------------------------
# t
# --------------------------------------------------------------------------------------------


def test_t_fills_fields_and_keeps_format_specs():
    assert t("fair_plot.ratio_title", "zh", m="入选率") == "各组与参照组之比：入选率"
    assert t("fair_plot.ratio_title", "en", m="x") == "Ratio to the reference group: x"
    assert "入选比例20%" in t(
        "fairness.text.scope", g=1, n=2, a=3, k=0.2, r=5, d=6, c=7, f=8, w=9, s=10, p=11
    )
    # Without fields the template comes back unfilled (to be filled later).
    assert "{idle}" in t("guidance.step.auction_real_estate")


def test_t_unknown_key_names_the_nearest():
    with pytest.raises(KeyError) as err:
        t("rung.higher")
    msg = str(err.value)
    assert "'rung.higher'" in msg
    assert "rung.higher_court" in msg
    with pytest.raises(KeyError, match="nearest: picker"):
        t("picker.escalat")


def test_t_missing_field_names_it():
    with pytest.raises(KeyError, match="needs the field\\(s\\) m"):
        t("fair_plot.ratio_title", "zh", g="x")


@pytest.mark.parametrize("lang", ["cn", "ZH", "", "en-GB", None])
def test_t_rejects_other_langs(lang):
    with pytest.raises(ValueError, match="lang must be 'zh' or 'en'"):
        t("missing", lang)


def test_catalogue_is_read_only_and_cached():
    assert catalogue() is catalogue()
    with pytest.raises(TypeError):
        catalogue()["missing"] = ("x", "y")  # type: ignore[index]


# --------------------------------------------------------------------------------------------
# value_label
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (True, "是", "yes"),
        (False, "否", "no"),
        (np.bool_(True), "是", "yes"),
        (np.bool_(False), "否", "no"),
    ],
)
def test_value_label_booleans(value, zh, en):
    assert value_label("has_vehicle", value, "zh") == zh
    assert value_label("has_vehicle", value, "en") == en


def test_value_label_pandas_boolean_array():
    arr = pd.array([True, False, None], dtype="boolean")
    assert [value_label("is_livelihood", v) for v in arr] == ["是", "否", "缺失"]
    series = pd.Series([True, pd.NA], dtype="boolean")
    assert [value_label("is_livelihood", v, "en") for v in series] == ["yes", "missing"]


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.datetime64("NaT")])
def test_value_label_missing(value):
    assert value_label("debtor_type", value) == "缺失"
    assert value_label("case_id", value, "en") == "missing"


def test_value_label_categories_free_text_and_unknowns():
    assert value_label("debtor_type", "natural_person") == "自然人"
    assert value_label("applicant_type", "natural_person", "en") == "natural person"
    assert value_label("ladder_stage", "higher_court") == RUNG_SPELLING
    assert value_label("suggested_rung", "intra_team") == "团队内"
    assert value_label("action", "escalate_higher_court") == ACTION_SPELLING
    # Free text falls back to the value as text; dates are written as ISO dates.
    assert value_label("case_id", "(2023)湘0103执1号") == "(2023)湘0103执1号"
    assert value_label("filing_date", pd.Timestamp("2024-03-01")) == "2024-03-01"
    assert value_label("n_debtors", np.int64(3)) == "3"
    # An unknown value of a category column is an error, never shown raw.
    with pytest.raises(ValueError, match="'alien'.*'debtor_type'"):
        value_label("debtor_type", "alien")
    with pytest.raises(KeyError, match="not a contract column"):
        value_label("no_such_column", "x")
    with pytest.raises(ValueError, match="lang"):
        value_label("debtor_type", "natural_person", "cn")


def test_value_label_does_not_sniff_type_names():
    source = (TEXT_ROOM / "_catalogue.py").read_text("utf-8")
    assert "__name__ ==" not in source and "__name__==" not in source


# --------------------------------------------------------------------------------------------
# Number formatters
# --------------------------------------------------------------------------------------------


def test_fmt_wan_yuan():
    assert fmt_wan_yuan(1501828.996) == "150.2 万元"
    assert fmt_wan_yuan(1501828.996, "en") == "150.2 × 10k yuan"
    assert fmt_wan_yuan(0) == "0.0 万元"
    assert fmt_wan_yuan(-1) == "0.0 万元"  # rounds to zero: no "-0.0"
    assert fmt_wan_yuan(-250000) == "-25.0 万元"
    assert fmt_wan_yuan(1.2e9) == "120,000.0 万元"
    assert fmt_wan_yuan(np.int64(50000)) == "5.0 万元"
    assert fmt_wan_yuan(float("nan")) == "缺失"
    assert fmt_wan_yuan(pd.NA, "en") == "missing"


def test_fmt_points():
    assert fmt_points(0.0370) == "3.7 个百分点"
    assert fmt_points(0.0370, "en") == "3.7 points"
    assert fmt_points(0) == "0.0 个百分点"
    assert fmt_points(-0.012) == "-1.2 个百分点"
    assert fmt_points(-0.0004) == "0.0 个百分点"
    assert fmt_points(np.float32(0.5)) == "50.0 个百分点"
    assert fmt_points(float("nan")) == "缺失"
    assert fmt_points(None, "en") == "missing"


def test_fmt_percent():
    assert fmt_percent(0.21) == "21%"
    assert fmt_percent(0.21, "en") == "21%"
    assert fmt_percent(0) == "0%"
    assert fmt_percent(1) == "100%"
    assert fmt_percent(-0.001) == "0%"
    assert fmt_percent(np.nan) == "缺失"


@pytest.mark.parametrize("fmt", [fmt_wan_yuan, fmt_points, fmt_percent])
def test_formatters_refuse_non_numbers_and_bad_lang(fmt):
    with pytest.raises(TypeError):
        fmt("12")
    with pytest.raises(TypeError):
        fmt(True)
    with pytest.raises(ValueError, match="lang"):
        fmt(0.1, "cn")


# --------------------------------------------------------------------------------------------
# The room's place in the layers
# --------------------------------------------------------------------------------------------


def test_text_imports_no_other_room():
    for path in TEXT_ROOM.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("crossexec_ml"):
                    assert name.startswith("crossexec_ml.text"), (path.name, name)


def test_t_pair_gives_both_languages_with_the_same_fields():
    from crossexec_ml.text import t, t_pair

    assert t_pair("bool.true") == ("是", "yes")
    zh, en = t_pair("explain.fact.idle", days_since_last_action=120)
    assert (
        "120" in zh
        and "120" in en
        and zh == t("explain.fact.idle", "zh", days_since_last_action=120)
    )
