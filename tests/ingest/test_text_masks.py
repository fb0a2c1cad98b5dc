"""Personal data in free text is masked at ingest: every item the synthetic shop planted,
nothing else, and no e-mail, phone or ID number survives."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import CliRun, on_run

from customer_analytics import privacy
from customer_analytics.config import load_config
from customer_analytics.ingest.stage import DELIVERED, PROFILE
from customer_analytics.ingest.stage import run as run_ingest

#: The truth's kinds of planted personal data -> the masks' kinds (privacy.yaml).
KINDS = {
    "email": "e-mail address",
    "phone": "phone number",
    "id_number": "ID number",
    "name": "name",
}


def _placeholder(kind: str) -> str:
    if kind == privacy.NAME:
        return privacy.RULES["name_mask"]["placeholder"]
    return privacy.RULES["text_masks"][kind]["placeholder"]


def _survivors(texts: pd.Series) -> dict[str, int]:
    """How many texts still hold something of each pattern's kind."""
    return {
        kind: int(texts.apply(lambda t, p=rule["pattern"]: re.search(p, t) is not None).sum())
        for kind, rule in privacy.RULES["text_masks"].items()
    }


def _masked(texts: list[str], ids: list[str], people: pd.DataFrame | None = None) -> list[str]:
    table = ibis.memtable({"customer_id": ids, "text": texts})
    masked, _ = privacy.mask_text(
        table, ("text",), None if people is None else ibis.memtable(people)
    )
    return masked.execute()["text"].tolist()


def test_each_kind_is_masked_in_its_usual_spellings_and_other_digits_are_kept() -> None:
    people = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Wei Wang", "李"]})
    texts = [
        "有问题打我电话13812345678，谢谢",
        "电话138-1234-5678或者138 1234 5678都行",
        "+86 13912345678是我的手机",
        "座机010-12345678",
        "邮箱wei.wang12@qq.com，发票发这里",
        "发票请发到我的邮箱Lei.Zhang3020 @126.Com",
        "身份证11010519491231002X已上传",
        "收件人Wang Wei，我是Wei Wang",
        "订单号20240101123456789，买了2件，等了3天",
        "李说还不错",  # a name under min_chars is a word, not a name
    ]
    ids = ["C1"] * 9 + ["C2"]
    assert _masked(texts, ids, people) == [
        "有问题打我电话[电话]，谢谢",
        "电话[电话]或者[电话]都行",
        "[电话]是我的手机",
        "座机[电话]",
        "邮箱[邮箱]，发票发这里",
        "发票请发到我的邮箱[邮箱]",
        "身份证[身份证号]已上传",
        "收件人[姓名]，我是[姓名]",
        "订单号20240101123456789，买了2件，等了3天",
        "李说还不错",
    ]


def test_another_customers_name_is_left_and_without_names_only_patterns_are_masked() -> None:
    people = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Wei Wang", "Na Li"]})
    assert _masked(["我是Na Li"], ["C1"], people) == ["我是Na Li"]
    assert _masked(["我是Wei Wang，13812345678"], ["C1"]) == ["我是Wei Wang，[电话]"]


def test_masked_rows_keep_their_delivered_order() -> None:
    """Finding each row's name is a join, after which DuckDB keeps no order: the rows are
    numbered first and put back in order."""
    n = 200_000
    ids = [f"C{i % 5_000}" for i in range(n)]
    table = ibis.memtable({"customer_id": ids, "text": [f"第{i}条，Wei Wang" for i in range(n)]})
    people = ibis.memtable({"customer_id": [f"C{i}" for i in range(5_000)], "name": "Wei Wang"})
    masked, counts = privacy.mask_text(table, ("text",), people)
    out = masked.execute()
    assert (out["_row"].to_numpy() == range(1, n + 1)).all()
    assert (out["text"] == [f"第{i}条，[姓名]" for i in range(n)]).all()
    assert counts.execute()["name"].iloc[0] == n


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny synthetic shop through the ingest stage."""
    folder = tmp_path_factory.mktemp("masks")
    cfg = load_config("configs/tiny.yaml", {"data.dir": str(folder / "data")})
    out = folder / "ingest"
    out.mkdir()
    findings = run_ingest(cfg, {}, out)
    return {"out": out, "findings": findings, "shop": cfg.source_path}


def test_every_planted_item_is_masked_and_nothing_else_changed(ingested: dict) -> None:
    shop = ingested["shop"]
    raw = pd.read_csv(shop / "raw" / "feedback.csv", dtype=str, keep_default_na=False)
    pii = pd.read_parquet(shop / "truth" / "feedback_pii.parquet")
    assert set(pii["kind"]) == set(KINDS)
    expected = raw.set_index("feedback_id")["text"].copy()
    for feedback_id, items in pii.groupby("feedback_id"):
        text = expected[feedback_id]
        for item in items.sort_values("start", ascending=False).itertuples():
            text = text[: item.start] + _placeholder(KINDS[item.kind]) + text[item.end :]
        expected[feedback_id] = text
    written = pd.read_parquet(DELIVERED.at(ingested["out"], table="feedback"))
    assert (written["feedback_id"].to_numpy() == raw["feedback_id"].to_numpy()).all()
    assert (written["_row"].to_numpy() == range(1, len(raw) + 1)).all()
    assert (written["text"].fillna("").to_numpy() == expected.to_numpy()).all()
    # the stage counted each kind as planted
    planted = pii["kind"].map(KINDS).value_counts().to_dict()
    assert ingested["findings"]["text_masked"]["feedback"] == {
        kind: planted.get(kind, 0) for kind in privacy.mask_kinds()
    }
    assert _survivors(raw["text"])["e-mail address"] > 0
    assert _survivors(written["text"].fillna("")) == dict.fromkeys(privacy.RULES["text_masks"], 0)


def test_no_planted_value_reaches_an_ingest_output(ingested: dict) -> None:
    shop, out = ingested["shop"], ingested["out"]
    raw = pd.read_csv(shop / "raw" / "feedback.csv", dtype=str, keep_default_na=False)
    pii = pd.read_parquet(shop / "truth" / "feedback_pii.parquet")
    texts = raw.set_index("feedback_id")["text"]
    values = {texts[i.feedback_id][i.start : i.end] for i in pii.itertuples()}
    people = pd.read_csv(shop / "raw" / "customers.csv", dtype=str, keep_default_na=False)
    values |= set(people["name"]) - {"", "Test User"}
    written = "".join(
        pd.read_parquet(p).astype(str).to_csv() for p in sorted(out.glob("*.parquet"))
    )
    assert not [v for v in values if v in written]
    profile = pd.read_parquet(PROFILE.at(out))
    text = profile[(profile["table"] == "feedback") & (profile["column"] == "text")]
    assert text["top_values"].iloc[0] == "(personal data: counts only)"
    assert text["min"].isna().all() and text["max"].isna().all()


def test_a_table_without_the_free_text_column_is_left_as_it_is() -> None:
    table = ibis.memtable({"customer_id": ["C1"], "rating": [5]})
    masked, counts = privacy.mask_text(table, ("text",), None)
    assert masked.execute().equals(table.execute())
    assert set(counts.execute().iloc[0]) == {0}


@pytest.mark.slow
@on_run("default")
def test_the_default_shop_s_planted_items_are_all_masked(
    config_run: Callable[[str], CliRun],
) -> None:
    """The default shop's messy export spells some e-mail addresses with a space before
    the @ (``Lei.Zhang3020 @126.Com``): each planted item is masked all the same."""
    run = config_run("default")
    pii = pd.read_parquet(Path(run.manifest["paths"]["truth"]) / "feedback_pii.parquet")
    planted = pii["kind"].map(KINDS).value_counts().to_dict()
    assert run.findings("01_ingest")["text_masked"]["feedback"] == {
        kind: planted.get(kind, 0) for kind in privacy.mask_kinds()
    }
    written = pd.read_parquet(run.stages["01_ingest"] / "feedback.parquet")["text"].fillna("")
    assert not written.str.contains("@").any()
    assert _survivors(written) == dict.fromkeys(privacy.RULES["text_masks"], 0)
