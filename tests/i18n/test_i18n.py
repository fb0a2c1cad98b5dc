"""The translation layer: catalogues complete and consistent, words from YAML with their
English fallback, locale formats, and a notebook's outputs sorted into per-language pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest
from latin import latin_words

from customer_analytics import i18n
from customer_analytics.config import ReportSettings
from customer_analytics.i18n import catalogues, formats
from customer_analytics.report.export import export_stage_html, in_language


def test_every_message_has_its_chinese() -> None:
    gaps = catalogues.missing("zh")
    listed = [f"{domain}: {message!r}" for domain, ids in gaps.items() for message in ids]
    assert listed == [], "untranslated (python -m customer_analytics.i18n update zh):\n" + (
        "\n".join(listed[:40])
    )


def test_catalogues_are_up_to_date_with_the_sources() -> None:
    """Every catalogue entry is an id the sources still have: no stale translations."""
    known = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for domain in catalogues.domains()
        for m in catalogues.template(domain)
    }
    stale = [
        m.id
        for m in catalogues.merged("zh")
        if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in known
    ]
    assert stale == []


def test_translations_use_only_their_messages_placeholders() -> None:
    """A translation may leave a placeholder out (the Chinese of "no earlier run of
    config 'tiny'" need not repeat the name), never bring one the message lacks."""
    for message in catalogues.merged("zh"):
        if message.id and isinstance(message.id, str):
            for name in ("{", "%("):
                ids = set(_fields(message.id, name))
                assert set(_fields(message.string, name)) <= ids, message.id


def _fields(text: str, opener: str) -> list[str]:
    closer = "}" if opener == "{" else ")"
    parts = text.split(opener)[1:]
    return [p.split(closer)[0] for p in parts if closer in p]


def test_each_package_reads_its_own_translation_of_a_word() -> None:
    """ "orders" is a count in one table and a table's name in another: each domain keeps
    its own, and the modules of a package read their package's."""
    with i18n.language("zh"):
        own = {d: i18n.dgettext(d, "orders") for d in ("ingest", "recommend")}
        assert own["ingest"] != own["recommend"]
        assert i18n.domain_of("customer_analytics.rfm.report") == "rfm"
        assert i18n.domain_of("customer_analytics.privacy") == "customer_analytics"
        assert i18n.gettext("Run summary") == "运行摘要"  # no domain of ours: every catalogue


def test_words_of_yaml_data_fall_back_to_english_and_say_so() -> None:
    entry = {"name": "Champions", "zh": {"name": "冠军客户"}}
    plain = {"name": "Big spenders"}
    assert i18n.word(entry, "name") == "Champions"
    with i18n.language("zh"), i18n.fallbacks() as english:
        assert i18n.word(entry, "name") == "冠军客户"
        assert i18n.word(plain, "name", what="my_tags.yaml: big") == "Big spenders"
    assert english == {"my_tags.yaml: big"}


def test_numbers_money_and_dates_follow_the_locale() -> None:
    day = dt.date(2025, 12, 31)
    with i18n.language("zh"):
        assert formats.money(1234.5, "CNY") == "¥1,234.50"
        assert formats.date(day) == "2025年12月31日"
        assert formats.percent(0.125, 1) == "12.5%"
    with i18n.language("en"):
        assert formats.money(1234.5, "CNY") == "CN¥1,234.50"
        assert formats.date(day) == "December 31, 2025"
        assert formats.axis("number")(12345, 0) == "12,345"
    assert formats.number(None) == formats.MISSING


def test_markdown_blocks_are_the_units_of_translation() -> None:
    text = "## Heading\n\nA paragraph   \non two lines.\n\n\n- a list\n- of two"
    assert catalogues.markdown_blocks(text) == [
        "## Heading",
        "A paragraph\non two lines.",
        "- a list\n- of two",
    ]
    assert catalogues.translate_markdown(text, str.upper).startswith("## HEADING\n\nA PARA")


def test_languages_must_be_known_and_include_english() -> None:
    assert ReportSettings(languages=["zh", "en"]).languages == ("zh", "en")
    with pytest.raises(ValueError, match="unknown report language 'fr'"):
        ReportSettings(languages=["en", "fr"])
    with pytest.raises(ValueError, match="must include 'en'"):
        ReportSettings(languages=["zh"])


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 03 · RFM segments"),
        nbformat.v4.new_markdown_cell("## Findings"),
        nbformat.v4.new_code_cell(
            "show()",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", {"text/markdown": text}, metadata={"lang": lang}
                )
                for lang, text in (("zh", "中文结论"), ("en", "English finding"))
            ],
        ),
    ]
    nbformat.write(nb, path)
    return path


def test_each_language_page_keeps_its_own_outputs(tmp_path: Path) -> None:
    nb = nbformat.read(_notebook(tmp_path / "99_demo.ipynb"), as_version=4)
    chinese = in_language(nb, "zh")
    assert [c.source for c in chinese.cells[:2]] == ["# 03 · RFM 分群", "## 结论"]
    assert [o["data"]["text/markdown"] for o in chinese.cells[2].outputs] == ["中文结论"]
    paths = export_stage_html(tmp_path / "99_demo.ipynb", tmp_path, "99_demo", ["zh", "en"])
    assert set(paths) == {"html", "html.zh", "analyst_html"}
    zh, en = (p.read_text(encoding="utf-8") for p in (paths["html.zh"], paths["html"]))
    assert "中文结论" in zh and "English finding" not in zh and 'lang="zh-CN"' in zh
    assert "English finding" in en and "中文结论" not in en
    assert 'href="99_demo.html"' in zh and 'href="99_demo.zh.html"' in en
    assert 'href="index.zh.html"' in zh
    assert latin_words(zh) == {}
    analyst = paths["analyst_html"].read_text(encoding="utf-8")
    assert "English finding" in analyst and "中文结论" not in analyst


def test_a_page_names_once_the_words_shown_in_english(tmp_path: Path) -> None:
    _notebook(tmp_path / "99_demo.ipynb")
    english = {"zh": ["segments: Big spenders name", "segments: Big spenders description"]}
    paths = export_stage_html(
        tmp_path / "99_demo.ipynb", tmp_path, "99_demo", ["zh", "en"], english
    )
    zh = paths["html.zh"].read_text(encoding="utf-8")
    assert zh.count("以英文显示") == 1 and "Big spenders name" in zh
    assert latin_words(zh) == {}
    assert "ca-english" not in paths["html"].read_text(encoding="utf-8")


def test_a_users_yaml_without_chinese_falls_back_to_english_through_the_cli(
    tmp_path: Path,
) -> None:
    """A shop's own segment rules without ``zh`` blocks: the Chinese page shows their
    English names and says so once; every other word stays Chinese."""
    import yaml
    from support import run_config

    from customer_analytics.rfm.segments import SEGMENTS_FILE

    tree = yaml.safe_load(SEGMENTS_FILE.read_text(encoding="utf-8"))
    for rule in tree["segments"]:
        rule.pop("zh", None)
    tree["segments"][0]["name"] = "Best friends"
    own = tmp_path / "my_segments.yaml"
    own.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    run = run_config(
        "tiny",
        tmp_path,
        "--set",
        "run.stages=[01_ingest,02_clean,03_rfm]",
        "--set",
        f"rfm.segments={own}",
    )
    assert run.ok, run.process.stderr[-3000:]
    zh = (run.report / "03_rfm.zh.html").read_text(encoding="utf-8")
    assert zh.count("ca-english") == 1
    assert "Best friends" in zh and "At Risk" in zh and "分群规则" in zh
