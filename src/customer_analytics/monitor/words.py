"""The monitor's words in every report language: channels, the parts of the comparison,
alert subjects and the reasons a part was not compared.

The comparison's findings (``since``, ``alerts``) are read by the run's index page,
which knows no stage: so they carry their words in each report language beside the
English, as our YAML data does (``{rule: kpi_change, subject: revenue, zh: {rule: KPI
变动, subject: 净收入}}``; :func:`customer_analytics.i18n.word` chooses). The English
stays under its keys: tests and baselines read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from customer_analytics import i18n
from customer_analytics.i18n import N_, _

#: The channels the shop's data names, as the report calls them.
CHANNELS = {
    "email": N_("e-mail"),
    "push": N_("push"),
    "sms": N_("SMS"),
    "in_app": N_("in-app message"),
    "paid_ads": N_("paid ads"),
    "affiliate": N_("affiliate"),
    "search": N_("search"),
    "social": N_("social media"),
    "direct": N_("direct"),
    "referral": N_("referral"),
    "organic": N_("organic"),
}
#: What each part of the comparison is called.
PARTS = {"kpis": N_("KPIs"), "segments": N_("RFM segments"), "personas": N_("personas"),
         "clv": N_("CLV parameters"), "verdicts": N_("experiment verdicts")}  # fmt: skip
#: An experiment's verdict (stage 07's decisions) as the report words it.
VERDICTS = {"ship": N_("ship"), "don't ship": N_("don't ship"),
            "inconclusive": N_("inconclusive"), "blocked": N_("blocked")}  # fmt: skip
#: The series whose subjects are names the data gives (personas, experiments): they
#: stay as written on every page (``subject_is_name`` on their alerts).
NAMED = ("persona_share", "verdicts")
#: Greek-named model parameters, written as their letters.
GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ"}
#: The subject of the ``persona_changed`` series.
CHANGED_PERSONA = N_("customers in both runs")

#: The problems the runner gives when there is no run to compare with (English, as it
#: words them), and their message ids.
PROBLEMS = [
    (re.compile(r"no earlier successful run of config '(?P<config>[^']*)' to compare with"),
     N_("no earlier successful run of config '{config}' to compare with")),
    (re.compile(r"no earlier run to compare with"), N_("no earlier run to compare with")),
    (re.compile(r"no earlier run was given to compare with"),
     N_("no earlier run was given to compare with")),
]  # fmt: skip


#: Other sentences the stage writes into its findings in English (why something was not
#: computed), and their message ids.
FINDINGS = [
    (re.compile(r"no (?P<table>\w+) table"), N_("no {table} table")),
    (re.compile(r"the (?P<table>\w+) table has no (?P<column>\w+) column"),
     N_("the {table} table has no {column} column")),
    (re.compile(r"stage 04_clv did not run: no BTYD model to project with"),
     N_("stage 04_clv did not run: no BTYD model to project with")),
    (re.compile(r"no held-back month has an earlier cohort to compare with"),
     N_("no held-back month has an earlier cohort to compare with")),
    (re.compile(r"no exposures of (?P<experiment>\S+) with both arms, (?P<arm>\S+) one of them "
                r"\(monitor\.holdout\)"),
     N_("no exposures of {experiment} with both arms, {arm} one of them (monitor.holdout)")),
    (re.compile(r"no messages and no sessions with a source: no journeys to attribute"),
     N_("no messages and no sessions with a source: no journeys to attribute")),
    (re.compile(r"no order has a touch in the lookback before it"),
     N_("no order has a touch in the lookback before it")),
]  # fmt: skip


def _known(text: str, patterns: list[tuple[re.Pattern[str], str]], code: bool = False) -> str:
    """``text`` in the current language where it has one of the ``patterns``' forms
    (each ``; ``-separated part alone), else as it is; ``code``: the names it holds
    as markdown code."""
    parts = []
    for piece in str(text).split("; "):
        for pattern, message in patterns:
            found = pattern.fullmatch(piece)
            if found:
                fields = {k: f"`{v}`" if code else v for k, v in found.groupdict().items()}
                piece = _(message).format(**fields)
                break
        parts.append(piece)
    return _("; ").join(parts)


def not_computed_text(why: str) -> str:
    """Why a KPI was not computed, in the current language."""
    return _known(why, FINDINGS)


projection_text = holdout_text = attribution_text = not_computed_text


def channel(name: Any) -> str:
    """A channel's name in the current language (an unknown one as the data names it)."""
    text = str(name)
    return _(CHANNELS[text]) if text in CHANNELS else text.replace("_", " ")


def part(name: str) -> str:
    """A part of the comparison (``kpis``, ``segments``...) in the current language."""
    return _(PARTS[name]) if name in PARTS else name


def verdict(value: Any) -> str:
    """An experiment's verdict in the current language; none: not analysed."""
    if value is None:
        return _("not analysed")
    return _(VERDICTS[value]) if value in VERDICTS else str(value)


def kpi_subject(subject: str, kpis: list[Any]) -> str:
    """A KPI series' name (``revenue``, ``message_conversion:email``) as its label, with
    the channel of a per-channel KPI."""
    name, _sep, group = str(subject).partition(":")
    found = next((k for k in kpis if k.name == name), None)
    label = found.word("label") if found is not None else name.replace("_", " ")
    if not group:
        return label
    return _("{kpi} ({channel})").format(kpi=label, channel=channel(group))


def parameter(subject: str) -> str:
    """A CLV parameter (``BG/NBD alpha``) with Greek names as letters."""
    return " ".join(GREEK.get(p, p) for p in str(subject).split(" "))


def subject(watch: str, text: str, kpis: list[Any], segment: Callable[[str], str]) -> str:
    """An alert's subject in the current language, by the series its rule watches."""
    if watch in ("kpi_weeks", "kpi_month"):
        return kpi_subject(text, kpis)
    if watch == "segment_share":
        return segment(text)
    if watch == "persona_changed" and text == CHANGED_PERSONA:
        return _(CHANGED_PERSONA)
    if watch == "clv_params":
        return parameter(text)
    return text.replace("_", " ")


def in_languages(render: Callable[[], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``render()`` in each report language but English: ``{"zh": {...}}``."""
    blocks = {}
    for lang in i18n.LANGUAGES:
        if lang != i18n.SOURCE:
            with i18n.language(lang):
                blocks[lang] = render()
    return blocks


def alert_words(
    alert: Mapping[str, Any], rules: list[Any], kpis: list[Any], segment: Callable[[str], str]
) -> dict[str, Any]:
    """``alert`` with its rule and subject (and a verdict's values) in each other
    language beside the English, and ``subject_is_name`` when its subject is a name
    to keep as written (a persona, an experiment)."""
    rule = next((r for r in rules if r.name == alert["rule"]), None)
    watch = rule.watch if rule is not None else ""

    def render() -> dict[str, Any]:
        block = {
            "rule": rule.word("name") if rule is not None else str(alert["rule"]),
            "subject": subject(watch, str(alert["subject"]), kpis, segment),
        }
        if watch == "verdicts":
            block |= {"before": verdict(alert["before"]), "after": verdict(alert["after"])}
        return block

    named = {"subject_is_name": True} if watch in NAMED else {}
    return {**alert, **named, **in_languages(render)}


class Reason(Exception):
    """Why something was not done, as a message id and its fields: its English is
    ``str()``, :meth:`words` its text in the other languages."""

    def __init__(self, message: str, **fields: Any) -> None:
        self.message, self.fields = message, fields
        super().__init__(message.format(**fields))

    def text(self) -> str:
        """The reason in the current language."""
        return _(self.message).format(**self.fields)


def problem_text(problem: str, code: bool = False) -> str:
    """A runner's problem (English) in the current language, where we know its form
    (``code``: with the config's name as markdown code)."""
    return _known(problem, PROBLEMS, code)


def since_words(since: Mapping[str, Any], reasons: Mapping[str, Reason]) -> dict[str, Any]:
    """The ``since`` findings with their parts' names, the reasons parts were not
    compared and the problem in each report language (``parts`` in English beside)."""
    found = dict(since)

    def render() -> dict[str, Any]:
        block: dict[str, Any] = {}
        if since.get("problem"):
            block["problem"] = problem_text(str(since["problem"]))
        if "not_compared" in since:
            block["parts"] = {p: part(p) for p in PARTS}
            block["not_compared"] = {
                p: reasons[p].text() if p in reasons else str(why)
                for p, why in since["not_compared"].items()
            }
        return block

    if "not_compared" in since:
        found["parts"] = dict(PARTS)
    return found | in_languages(render)
