"""Run configuration: YAML files validated into typed settings.

Every path the project uses is named here once. A config with an unknown key, a wrong
type or a missing input file fails before any stage runs, with a message that names the
key or the file (:class:`ConfigError`).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from customer_analytics import i18n
from customer_analytics.pipeline.registry import STAGE_NAMES

SECRET_ENV = "CUSTOMER_ANALYTICS_SECRET"
HOME_ENV = "CUSTOMER_ANALYTICS_HOME"
RUN_DIR_ENV = "CUSTOMER_ANALYTICS_RUN_DIR"

#: The canonical tables and their columns (DESIGN.md section 3), with each column's kind:
#: what a source delivers and a shop's file may be mapped to.
CANONICAL: dict[str, dict[str, str]] = yaml.safe_load(
    (Path(__file__).with_name("canonical.yaml")).read_text()
)


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key or file at fault."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UndeclaredSetting(AttributeError):
    """A stage read a settings section it does not declare (``pipeline/registry.py``)."""


class _Undeclared:
    """Stands for a settings section its reader did not declare (:meth:`Config.only`)."""

    def __init__(self, section: str, reader: str) -> None:
        self._section, self._reader = section, reader

    def _refuse(self) -> UndeclaredSetting:
        return UndeclaredSetting(
            f"{self._reader} reads settings section '{self._section}', which it does not "
            "declare: add it to the stage's settings in pipeline/registry.py (its cache "
            "key covers only those)"
        )

    def __getattr__(self, name: str) -> Any:
        raise self._refuse()

    def __bool__(self) -> bool:
        raise self._refuse()


class RunSettings(_Section):
    """What to run and for which date."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    title: str | dict[str, str] = ""  # or one per report language: {en: ..., zh: ...}
    stages: tuple[str, ...]
    as_of: dt.date | None = None
    snapshot_offset_days: int = Field(90, ge=1)
    # The date the run happens, in shop.timezone: rows dated after it are in the future
    # and left out of the data's end (rule after_data_end). Unset, it is today's date,
    # filled in when the config is read; set it to replay a run of another day.
    today: dt.date | None = None

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, stages: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in stages if s not in STAGE_NAMES]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; known: {list(STAGE_NAMES)}")
        if list(stages) != sorted(stages, key=STAGE_NAMES.index):
            raise ValueError(f"stages must be in pipeline order {list(STAGE_NAMES)}")
        if not stages:
            raise ValueError("at least one stage is needed")
        return stages


class SyntheticSettings(_Section):
    """The embedded synthetic shop (see :mod:`customer_analytics.synthetic`)."""

    size: Literal["tiny", "default"] = "default"
    n_customers: int | None = Field(None, ge=10)
    seed: int = 42
    start: dt.date = dt.date(2024, 1, 1)
    end: dt.date = dt.date(2025, 12, 31)


class ExtraColumn(_Section):
    """A column of a shop's file that is not canonical, kept under its own name.

    Only columns that hold no personal data are kept (``personal: false``, which the
    config must state); e-mail and phone map to the canonical ``email`` and ``phone``,
    which are pseudonymised when read.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    personal: bool

    @field_validator("personal")
    @classmethod
    def _not_personal(cls, personal: bool) -> bool:
        if personal:
            raise ValueError(
                "a personal column is not kept: map e-mail or phone to the canonical email or "
                "phone (pseudonymised when read), and leave other personal columns out"
            )
        return personal


class FileMapping(_Section):
    """One canonical table from a shop's own file (``source.kind: files``)."""

    file: Path
    columns: dict[str, str]  # column in the file -> canonical column
    date_format: str | None = (
        None  # strptime format of the timestamp columns, e.g. "%d.%m.%Y %H:%M"
    )
    encoding: Literal["utf-8", "latin-1", "utf-16"] = "utf-8"
    sheet: str | None = None  # Excel only; the first sheet when empty
    # Canonical columns the file lacks, set to one value on every row: an exposure log
    # of a single test (customer, time, arm) gets {experiment_id: spring_push}.
    constants: dict[str, str] = {}
    # Columns of the file that are not canonical, kept under a name of their own when
    # they hold no personal data: {Treuestufe: {name: loyalty_tier, personal: false}}.
    extra_columns: dict[str, ExtraColumn] = {}
    # The file's customer ids are personal (e-mail addresses, phone numbers): they are
    # pseudonymised, the same way in every table that carries them (privacy.yaml).
    personal_ids: bool = False

    @field_validator("constants")
    @classmethod
    def _not_mapped_twice(cls, constants: dict[str, str], info: Any) -> dict[str, str]:
        clash = sorted(set(constants) & set(info.data.get("columns", {}).values()))
        if clash:
            raise ValueError(f"column(s) {clash} are both mapped from the file and constant")
        return constants

    def targets(self) -> list[str]:
        """The canonical columns the mapping fills (mapped and constant)."""
        return [*self.columns.values(), *self.constants]

    def unknown_targets(self, table: str) -> str | None:
        """What is wrong with the names this mapping gives ``table``'s columns, or None.

        Mapped and constant columns must be canonical columns of the table
        (:data:`CANONICAL`); extra columns must not be, and no name may be given twice.
        """
        canonical = CANONICAL[table]
        unknown = [
            f"{source!r} -> {target!r}" if source else repr(target)
            for source, target in [
                *self.columns.items(),
                *((None, c) for c in self.constants),
            ]
            if target not in canonical
        ]
        if unknown:
            return (
                f"table {table}: {', '.join(unknown)} not a canonical column of {table}; "
                f"its canonical columns are {list(canonical)}. Keep another column of the "
                f"file with extra_columns ({{file column: {{name: ..., personal: false}}}})"
            )
        extra = [e.name for e in self.extra_columns.values()]
        named = [*self.targets(), *extra]
        clash = sorted(
            {n for n in extra if n in canonical} | {n for n in named if named.count(n) > 1}
        )
        if clash:
            return (
                f"table {table}: column name(s) {clash} given twice, or an extra column named "
                "as a canonical one (map it in columns instead)"
            )
        return None


class ShownSettings(_Section):
    """What each arm of a campaign shows, and the file's column recording what was shown."""

    column: str  # the file's column, e.g. landing_page
    arms: dict[str, str] = Field(min_length=1)  # arm -> what it shows: {control: old_page}


class CampaignSettings(_Section):
    """A campaign file with one row per customer (``source.kind: campaign``).

    Column names refer to the file (``source.path``, CSV or Parquet). The file becomes
    the canonical ``exposures`` (who got which arm, when) and ``outcomes`` (what each
    customer did, plus covariates and segment columns) tables.
    """

    experiment_id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    arm: str  # the column naming each row's variant
    # The column of customer ids; None: the file has none, the 1-based data row is the id.
    customer_id: str | None = None
    # When customers were assigned: one date or timestamp for every row (a date is
    # midnight in shop.timezone), or the name of a column holding it per row. Text that
    # is not a column of the file but reads as an ISO date or timestamp is one too.
    assigned: dt.datetime | dt.date | str
    outcomes: tuple[str, ...] = Field(min_length=1)
    covariates: tuple[str, ...] = ()  # pre-assignment values, e.g. for CUPED
    segments: tuple[str, ...] = ()  # columns to split effects by
    # The column holding when each outcome happened, if the file has one: outcomes
    # stamped before the customer's assignment are quarantined (outcome_before_assignment)
    # and those after window_days are not counted.
    outcome_ts: str | None = None
    # The customer ids are personal (e-mail addresses, phone numbers): pseudonymise them.
    personal_ids: bool = False
    # The strptime format of the assigned and outcome_ts columns (e.g. "%d.%m.%Y %H:%M");
    # every value must then match it. Unset, the cleaning rules read any accepted format.
    date_format: str | None = None
    # What each arm shows, where the file also records what the customer was shown (a
    # landing page, a creative): rows where the two disagree are quarantined
    # (exposure_arm_mismatch in clean/rules.yaml).
    shown: ShownSettings | None = None


class SourceSettings(_Section):
    """Where the shop's data comes from."""

    kind: Literal["synthetic", "online_retail", "cdnow", "files", "campaign"]
    path: Path | None = None
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    synthetic: SyntheticSettings = SyntheticSettings()
    tables: dict[str, FileMapping] = {}
    campaign: CampaignSettings | None = None  # kind campaign only

    @field_validator("tables")
    @classmethod
    def _canonical_tables(cls, tables: dict[str, FileMapping]) -> dict[str, FileMapping]:
        unknown = sorted(set(tables) - set(CANONICAL))
        if unknown:
            raise ValueError(
                f"unknown table(s) {unknown}; the canonical tables are {list(CANONICAL)}"
            )
        for name, mapping in tables.items():
            problem = mapping.unknown_targets(name)
            if problem:
                raise ValueError(problem)
        return tables

    @field_validator("path")
    @classmethod
    def _no_input_for_the_synthetic_shop(cls, path: Path | None, info: Any) -> Path | None:
        # A source only reads the path a user names; the synthetic shop is generated into
        # the project's data folder instead, so a path here could only be written over.
        if path is not None and info.data.get("kind") == "synthetic":
            raise ValueError(
                "the synthetic shop reads no input: it is generated under data.dir "
                "(raw/synthetic/); leave source.path unset (set data.dir to move it)"
            )
        return path


class CleanSettings(_Section):
    """Choices the cleaning rules leave to the shop (see clean/rules.yaml)."""

    wholesale_quantity: int = Field(100, ge=1)
    keep_wholesale: bool = False
    keep_zero_price: bool = False
    identity_keys: tuple[str, ...] = ("email_hash", "phone_hash")
    # A table whose rules set aside more than this share of its rows stops the run,
    # naming the rules (a table that keeps no row always does). Online Retail loses 28%
    # of its lines by design (guest orders, cancellations).
    max_quarantined_share: float = Field(0.5, gt=0, le=1)


class RfmSettings(_Section):
    """RFM scoring and segments (stage 03_rfm); rules are data, the defaults ship with the package."""

    scoring: Path | None = None  # a YAML like rfm_scoring.yaml; None: the package's
    segments: Path | None = None  # a YAML like rfm_segments.yaml; None: the package's
    lifecycle: Path | None = None  # a YAML like lifecycle.yaml; None: the package's


class ClvSettings(_Section):
    """Customer-lifetime-value models (stage 04_clv)."""

    time_unit: Literal["days", "weeks"] = "weeks"
    # The model is chosen on a holdout: fitted up to calibration_end (default: as_of less
    # holdout_days), scored on the purchases after it, then refitted up to as_of.
    calibration_end: dt.date | None = None
    holdout_days: int = Field(182, ge=7)
    models: tuple[Literal["bgnbd", "mbgnbd", "pareto_nbd"], ...] = ("bgnbd", "mbgnbd", "pareto_nbd")
    penalizer: float = Field(0.0, ge=0.0)
    horizon_months: int = Field(12, ge=1)
    monthly_discount_rate: float = Field(0.01, ge=0.0, lt=1.0)
    prediction_days: int = Field(90, ge=1)  # "expected purchases in the next N days"


class ClusteringSettings(_Section):
    """Customer clusters (stage 05_clustering)."""

    k: int | None = Field(None, ge=2)  # fixed number of clusters; None: chosen by criteria
    k_min: int = Field(2, ge=2)
    k_max: int = Field(10, ge=2)
    method: Literal["kmeans", "gmm", "gmm_diag"] = "kmeans"
    # Customers the model is fitted on, drawn at random (seed) from the buyers sorted by
    # id; every buyer is then assigned on the engine. Fits on 4,000 of the default shop's
    # buyers already agree with the fit on all of them (tests/clustering/test_stage.py).
    fit_sample: int = Field(100_000, ge=1000)
    # Personas are fitted on the established buyers, whose first order is at least this
    # many days before as_of; newer buyers (one order or two, brand-new recency and
    # tenure) are assigned to the nearest persona like everyone else. Fitted among
    # them, the newest buyers of every persona form a lifecycle cluster of their own once
    # there are enough of them: the default shop's 1,690 buyers of the last six weeks
    # (400 of them the planted growth) turned k=6 personas into 3 groups. 0: fit on
    # every buyer.
    established_days: int = Field(90, ge=0)
    pca: float | None = Field(None, gt=0)  # keep this share of variance (or components, >= 1)
    n_bootstrap: int = Field(10, ge=2)
    min_share: float = Field(0.01, ge=0.0, lt=0.5)  # smaller clusters are merged
    seed: int = 0
    n_jobs: int = -1  # processes for the k search (-1: one per core); the result is the same
    # Value columns left out of the distance: CLV and P(alive) are functions of recency,
    # frequency, tenure and spend, which are already in; they describe personas instead.
    exclude: tuple[str, ...] = ("clv", "p_alive", "order_hour", "consent")

    @field_validator("k_max")
    @classmethod
    def _range(cls, k_max: int, info: Any) -> int:
        k_min = info.data.get("k_min")  # absent when k_min itself failed validation
        if k_min is not None and k_max < k_min:
            raise ValueError("k_max must be at least k_min")
        return k_max


class PersonaSettings(_Section):
    """Persona cards, tags and audiences (stage 06_personas)."""

    tags: Path | None = None  # a YAML like tags.yaml; None: the package's
    actions: Path | None = None  # a YAML like actions.yaml; None: the package's
    lines: Path | None = None  # card lines, a YAML like lines.yaml; None: the package's
    names: Path | None = None  # given names of cards, a YAML like names.yaml; None: the package's
    # Without a consent column no audience is written, unless the shop states the legal
    # basis on which it contacts every customer (e.g. "soft opt-in of existing customers").
    consent_basis: str | None = None


class RecommendSettings(_Section):
    """Product recommendations (stage 08_recommend)."""

    test_days: int = Field(28, ge=7)  # the last days before as_of: the window reported
    validation_days: int = Field(28, ge=7)  # the days before it: tuning and the choice
    popular_days: int = Field(90, ge=7)  # recent popularity counts buyers this far back
    n_bootstrap: int = Field(200, ge=20)  # bootstrap samples of customers for intervals
    seed: int = 0
    top_n: int = Field(10, ge=1, le=100)  # picks per customer in activation/picks.csv
    just_bought_days: int = Field(30, ge=0)  # bought this lately: not picked unless due again
    min_pair_orders: int = Field(5, ge=2)  # "also bought" pairs need this many orders together
    cart_hours: int = Field(72, ge=1)  # carts left in these hours before as_of are reminded
    cart_days: int = Field(30, ge=1)  # carts left this far back are a signal for the blend


class ChannelCost(_Section):
    """A marketing channel: what one message costs, and how many it can send."""

    cost: float = Field(ge=0)  # per message, in the shop's currency
    capacity: int | None = Field(None, ge=0)  # messages in one campaign; None: no limit


class ActionCost(_Section):
    """An experiment's arm as an action to send: its channel and its face value."""

    channel: str  # a key of targeting.channels
    face_value: float = Field(0.0, ge=0)  # paid when redeemed (a coupon): cash out, not margin


class AttributionSettings(_Section):
    """Journeys and the models that credit channels with orders (stage 10_monitor)."""

    lookback_days: int = Field(30, ge=1)  # touches this long before an order make its journey
    max_touches: int = Field(10, ge=1)  # longer journeys keep their last touches (counted)
    window_days: int = Field(3, ge=1)  # a message converted when an order follows within this
    bootstrap: int = Field(100, ge=0)  # resamples of journeys for the intervals; 0: none


class HoldoutSettings(_Section):
    """A channel's randomised holdout, logged as an experiment in ``exposures``."""

    channel: str
    experiment: str  # its experiment_id in the exposures table
    holdout_arm: str  # the arm never messaged on the channel


class MonitorSettings(_Section):
    """KPIs, cohorts and channels over time (stage 10_monitor)."""

    kpis: Path | None = None  # a YAML like monitor/kpis.yaml; None: the package's
    anomaly_window: int = Field(13, ge=4)  # earlier weeks a week is judged against
    anomaly_threshold: float = Field(3.5, gt=0)  # modified z-score beyond which it is flagged
    festival_lead_days: int = Field(14, ge=0)  # a festival's season: presales and buying before it
    attribution: AttributionSettings = AttributionSettings()
    holdout: HoldoutSettings | None = None
    # The run to compare with (a run id in reports.dir, of the same config); None: the
    # config's previous successful run.
    compare_to: str | None = None
    alerts: Path | None = None  # a YAML like monitor/alerts.yaml; None: the package's
    # Complete weeks (festival seasons left out) whose mean stands for a KPI when runs
    # are compared and in the history page.
    compare_weeks: int = Field(4, ge=1)


class TargetingSettings(_Section):
    """Uplift models and the budget's allocation (stage 09_targeting)."""

    budget: float = Field(20_000.0, ge=0)  # cash out: sends plus expected redeemed face value
    channels: dict[str, ChannelCost] = {}
    # experiment -> arm -> its channel and face value; arms not listed are not planned
    actions: dict[str, dict[str, ActionCost]] = {}
    # the outcome whose uplift is planned on (incremental margin); the first of these
    # that the experiment measures: margin, then revenue, spend, orders, conversion
    outcomes: tuple[str, ...] = ("margin", "revenue", "spend", "orders", "conversion")
    # the groups a plan is made of: the first column the customers have (persona, RFM
    # segment, or a campaign file's own segment column)
    groups: tuple[str, ...] = ("persona", "rfm_segment")
    contacts: int = Field(1, ge=1)  # actions per customer at most
    holdout_share: float = Field(0.05, ge=0, lt=0.5)  # of the planned customers, kept out
    min_units: int = Field(200, ge=20)  # treated and control units an experiment needs
    test_share: float = Field(0.3, gt=0, lt=0.9)  # customers held out to evaluate the models
    prudence: bool = False  # plan on the lower end of each action's calibrated effect
    n_bootstrap: int = Field(100, ge=20)  # replicates behind each Qini and AUUC band
    seed: int = 0


class MetricSpec(_Section):
    """One metric of an experiment (stage 07_ab_test)."""

    name: str  # a column of the unit table: conversion, orders, revenue, or an outcome column
    type: Literal["proportion", "mean", "ratio"] = "mean"
    numerator: str | None = None  # ratio metrics: the per-unit numerator (revenue)
    denominator: str | None = None  # ratio metrics: the per-unit denominator (orders)
    role: Literal["goal", "guardrail"] = "goal"
    direction: Literal["increase", "decrease"] = "increase"  # which way is better
    min_effect: float = Field(0.05, gt=0)  # relative lift the test was planned to detect
    covariate: str | None = None  # pre-period column for CUPED (e.g. revenue_pre)
    winsorize: float | None = Field(None, gt=0.5, lt=1)  # cap at this quantile (revenue)

    @property
    def column(self) -> str:
        """The unit-table column the metric sums (a ratio's numerator)."""
        return self.numerator or self.name


class ExperimentSpec(_Section):
    """One experiment: its arms (control first), planned split, window and metrics."""

    description: str = ""
    arms: tuple[str, ...] = Field(min_length=2)
    planned_split: tuple[float, ...]
    window_days: int = Field(14, ge=1)  # outcomes counted from assignment for this long
    metrics: tuple[MetricSpec, ...] = Field(min_length=1)
    # Units (all arms) the test is planned to reach: tunes the always-valid intervals of
    # ab.sequential; set it before the first look. None: the units seen so far.
    planned_units: int | None = Field(None, ge=2)
    # The words its pages show in each other report language, written as a block beside
    # the English (``zh: {name: 个性化推送, description: ..., arms: {treatment: ...}}``).
    words: dict[str, dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _language_blocks(cls, data: Any) -> Any:
        """Move the language blocks (keys of ``i18n.LANGUAGES``) into ``words``."""
        if not isinstance(data, dict):
            return data
        blocks = {k: v for k, v in data.items() if k in i18n.LANGUAGES}
        for lang, block in blocks.items():
            if not isinstance(block, dict):
                raise ValueError(f"{lang}: a block of words ({{name: ..., description: ...}})")
        if not blocks:
            return data
        rest = {k: v for k, v in data.items() if k not in i18n.LANGUAGES}
        return {**rest, "words": {**rest.get("words", {}), **blocks}}

    def word(self, name: str, key: str = "name") -> str:
        """The experiment's ``name`` (its id in English) or ``description`` in the
        current report language; English where its block lacks the word."""
        entry = {"name": name, "description": self.description, **self.words}
        return i18n.word(entry, key, what=f"experiment {name}: {key}")

    def term(self, kind: str, key: str) -> str | None:
        """The current language's word for one of the experiment's ``arms`` or
        ``metrics`` (``zh: {arms: {treatment: 个性化推送}}``), or None."""
        words = self.words.get(i18n.current(), {}).get(kind) or {}
        return words.get(key)

    @field_validator("planned_split")
    @classmethod
    def _split(cls, split: tuple[float, ...], info: Any) -> tuple[float, ...]:
        arms = info.data.get("arms")  # absent when arms itself failed validation
        if arms is not None and len(split) != len(arms):
            raise ValueError("planned_split needs one share per arm")
        return split


class AbSettings(_Section):
    """Experiment analysis (stage 07_ab_test)."""

    alpha: float = Field(0.05, gt=0, lt=0.5)
    srm_alpha: float = Field(0.001, gt=0, lt=0.5)
    correction: Literal["holm", "bh"] = "holm"
    # Segment columns of the unit table for the effects-by-segment view.
    segments: tuple[str, ...] = ("persona", "rfm_segment", "channel", "customer_type")
    # Always-valid confidence sequences (experiments/sequential.py) beside the fixed-sample
    # intervals, and the verdict read from them: for analysts who look before the end.
    sequential: bool = False
    experiments: dict[str, ExperimentSpec] = {}
    # A YAML file of experiments (mapping name -> the fields of ExperimentSpec), for
    # configs that share them; experiments given inline come first.
    experiments_file: Path | None = None


class ShopSettings(_Section):
    """Facts about the shop that the data does not carry."""

    timezone: str = "UTC"
    currency: str = "EUR"
    festivals: tuple[str, ...] = ()  # shopping festivals as "MM-DD" (seasonal buying)
    festival_days: int = Field(10, ge=0)  # days before a festival that count as its season
    # What the shop pays its carrier per order (whatever the customer paid for shipping):
    # with products' unit_cost it gives each order's margin (stage 07_ab_test).
    carrier_cost_per_order: float | None = Field(None, ge=0)

    @field_validator("festivals")
    @classmethod
    def _month_days(cls, festivals: tuple[str, ...]) -> tuple[str, ...]:
        for day in festivals:
            try:
                dt.datetime.strptime(f"2024-{day}", "%Y-%m-%d")
            except ValueError:
                raise ValueError(f"festival {day!r} is not a month-day like 11-11") from None
        return festivals

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {zone!r}") from err
        return zone


class PrivacySettings(_Section):
    """Pseudonymisation and small-group suppression (DESIGN.md section 7)."""

    dev_key: bool = False
    min_group_size: int = Field(10, ge=1)


class ReportSettings(_Section):
    """Where run reports go, how many are kept, and the languages their stakeholder
    pages and index are written in (``index.html`` in English, ``index.zh.html``...;
    analyst pages are English)."""

    dir: Path = Path("reports")
    keep: int = Field(10, ge=1)
    languages: tuple[str, ...] = ("en",)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        for lang in languages:
            i18n.check(lang)
        if i18n.SOURCE not in languages:
            raise ValueError(
                f"languages must include {i18n.SOURCE!r}: the analyst pages and the pages "
                "without a language in their name (index.html) are English"
            )
        if len(set(languages)) != len(languages):
            raise ValueError(f"a language is listed twice: {list(languages)}")
        return languages


class DuckDBSettings(_Section):
    """Settings that only DuckDB reads (``pipeline/engine.py`` lists their Spark
    counterparts)."""

    # DuckDB's memory for a stage's working tables; beyond it they spill to disk.
    # Ten million order lines (clean stage alone, 2026-12-01): 3GB peaks at 3.2 GB in
    # 36-40 s, 2GB at 2.3 GB in 40-43 s (it spills), no limit at 4.4 GB.
    memory_limit: str | None = Field("3GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$")


class SparkSettings(_Section):
    """Where Spark runs: ``master`` (``local[2]``, ``spark://host:7077``, ``yarn``...)
    and extra Spark settings (``spark.executor.memory: 8g``...)."""

    master: str = "local[2]"
    conf: dict[str, str] = {}

    @field_validator("master")
    @classmethod
    def _no_connect(cls, master: str) -> str:
        if master.startswith("sc://"):
            raise ValueError(
                "Spark Connect (sc://) is not supported: give a master URL "
                "(local[N], spark://host:port, yarn, k8s://...)"
            )
        return master


class EngineSettings(_Section):
    """The engine that runs the transaction-scale steps after the ingest."""

    kind: Literal["duckdb", "spark"] = "duckdb"
    duckdb: DuckDBSettings = DuckDBSettings()
    spark: SparkSettings = SparkSettings()


class DataSettings(_Section):
    """Where raw, cached and per-run data live."""

    dir: Path = Path("data")


class Config(_Section):
    """A whole, validated run configuration."""

    run: RunSettings
    source: SourceSettings
    shop: ShopSettings = ShopSettings()
    clean: CleanSettings = CleanSettings()
    rfm: RfmSettings = RfmSettings()
    clv: ClvSettings = ClvSettings()
    clustering: ClusteringSettings = ClusteringSettings()
    personas: PersonaSettings = PersonaSettings()
    ab: AbSettings = AbSettings()
    recommend: RecommendSettings = RecommendSettings()
    targeting: TargetingSettings = TargetingSettings()
    monitor: MonitorSettings = MonitorSettings()
    privacy: PrivacySettings = PrivacySettings()
    reports: ReportSettings = ReportSettings()
    data: DataSettings = DataSettings()
    engine: EngineSettings = EngineSettings()

    @model_validator(mode="before")
    @classmethod
    def _run_date(cls, tree: Any) -> Any:
        """``run.today`` unset is the date the config is read, in ``shop.timezone``: the
        run's own date, recorded in the resolved config and the ingest's findings."""
        run = tree.get("run") if isinstance(tree, dict) else None
        if isinstance(run, dict) and run.get("today") is None:
            shop = tree.get("shop") if isinstance(tree.get("shop"), dict) else {}
            tree = {**tree, "run": {**run, "today": today_in(shop.get("timezone", "UTC"))}}
        return tree

    def only(self, sections: tuple[str, ...], reader: str) -> Config:
        """This config with only ``sections`` readable: any other section raises an
        :class:`UndeclaredSetting` naming ``reader`` (a stage), so a stage cannot read a
        setting that its cache key does not cover."""
        unknown = sorted(set(sections) - set(type(self).model_fields))
        if unknown:
            raise KeyError(f"{reader} declares unknown settings section(s) {unknown}")
        hidden = {
            name: _Undeclared(name, reader)
            for name in type(self).model_fields
            if name not in sections
        }
        return self.model_copy(update=hidden)

    # -- paths, each named once -------------------------------------------------
    @property
    def root(self) -> Path:
        return project_root()

    def resolve(self, path: Path) -> Path:
        """An absolute path; relative paths are relative to the project root."""
        return path if path.is_absolute() else self.root / path

    def experiments(self) -> dict[str, ExperimentSpec]:
        """The experiments to analyse: ``ab.experiments`` and those of ``ab.experiments_file``."""
        specs = dict(self.ab.experiments)
        if self.ab.experiments_file is not None:
            path = self.resolve(self.ab.experiments_file)
            tree = yaml.safe_load(path.read_text()) or {}
            try:
                for name, spec in tree.items():
                    specs.setdefault(name, ExperimentSpec.model_validate(spec))
            except ValidationError as err:
                raise ConfigError(_describe(err, str(path))) from None
        return specs

    def resolve_optional(self, path: Path | None) -> Path | None:
        """:meth:`resolve` for a setting that may be unset (None: the package's default)."""
        return None if path is None else self.resolve(path)

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.data.dir)

    @property
    def reports_dir(self) -> Path:
        return self.resolve(self.reports.dir)

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def runs_data_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def scratch_dir(self) -> Path:
        return self.data_dir / "scratch"

    @property
    def source_path(self) -> Path:
        """The source's input: a file, or for the synthetic shop its generated folder."""
        if self.source.path is not None:
            return self.resolve(self.source.path)
        if self.source.kind == "cdnow":
            import lifetimes

            return Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
        s = self.source.synthetic
        label = f"n{s.n_customers}" if s.n_customers else s.size
        return self.data_dir / "raw" / "synthetic" / f"{label}-seed{s.seed}-{s.start}-{s.end}"

    @property
    def truth_dir(self) -> Path | None:
        """The synthetic shop's planted truth, beside its generated export; None for real
        data, which has none."""
        return self.source_path / "truth" if self.source.kind == "synthetic" else None

    def source_file(self, file: Path) -> Path:
        """A mapped file: absolute, or relative to ``source.path`` (a folder) or the project root."""
        if file.is_absolute():
            return file
        base = self.resolve(self.source.path) if self.source.path is not None else self.root
        return (base if base.is_dir() else base.parent) / file

    def to_jsonable(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def today_in(zone: Any) -> dt.date:
    """Today's date in time zone ``zone`` (the machine's date when it is no known zone)."""
    from zoneinfo import ZoneInfo

    try:
        return dt.datetime.now(ZoneInfo(str(zone))).date()
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return dt.date.today()


def project_root() -> Path:
    """The project's root folder.

    ``$CUSTOMER_ANALYTICS_HOME`` when set, else the nearest folder at or above the
    working directory holding both ``pyproject.toml`` and ``configs/`` (so a notebook
    opened from ``notebooks/`` finds it), else the working directory.
    """
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "configs").is_dir():
            return folder
    return here


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {key!r} is not a section")
        node = child
    node[keys[-1]] = value


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse ``key.sub=value`` strings; values are read as YAML scalars."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--set {pair!r}: expected key=value, for example run.as_of=2025-06-30"
            )
        parsed[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return parsed


def _describe(err: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid configuration"]
    for problem in err.errors():
        key = ".".join(str(p) for p in problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"  key '{key}': unknown key")
        elif problem["type"] == "missing":
            lines.append(f"  key '{key}': required but missing")
        else:
            got = problem.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"  key '{key}': {problem['msg']}{shown}")
    return "\n".join(lines)


def config_from_dict(tree: dict[str, Any], origin: str = "<config>") -> Config:
    """Validate a configuration tree, raising :class:`ConfigError` with named keys."""
    try:
        return Config.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(_describe(err, origin)) from None


def load_config(
    path: str | Path, overrides: dict[str, Any] | None = None, *, check_inputs: bool = True
) -> Config:
    """Read, override and validate a YAML config.

    Parameters
    ----------
    path
        The YAML file, relative to the project root or absolute.
    overrides
        Dotted keys to values (as from ``--set key=value``), applied before validation.
    check_inputs
        Fail when the source's input file is missing (the synthetic shop is generated
        on demand, so it never is).

    Raises
    ------
    ConfigError
        Unknown key, wrong type, unreadable file or missing input.
    """
    file = Path(path)
    if not file.is_absolute():
        file = project_root() / file
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist")
    try:
        tree = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{file}: not valid YAML: {err}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{file}: expected a mapping of sections at the top level")
    for key, value in (overrides or {}).items():
        _set_dotted(tree, key, value)
    cfg = config_from_dict(tree, origin=str(file))
    if check_inputs:
        check_source(cfg)
    return cfg


def check_source(cfg: Config) -> None:
    """Fail early when a source file the config names is missing or is a folder."""
    if cfg.source.kind == "synthetic":
        return
    if cfg.source.kind == "files":
        if not cfg.source.tables:
            raise ConfigError("key 'source.tables': kind 'files' needs at least one table mapping")
        for name, mapping in cfg.source.tables.items():
            path = cfg.source_file(mapping.file)
            if not path.is_file():
                raise ConfigError(
                    f"key 'source.tables.{name}.file': input file {path} does not exist"
                )
        return
    if cfg.source.kind == "campaign" and cfg.source.campaign is None:
        raise ConfigError(
            "key 'source.campaign': kind 'campaign' needs experiment_id, arm, customer_id, "
            "assigned and outcomes"
        )
    if cfg.source.kind == "campaign" and cfg.source.path is None:
        raise ConfigError("key 'source.path': kind 'campaign' needs the campaign file")
    path = cfg.source_path
    if not path.exists():
        raise ConfigError(f"key 'source.path': input file {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"key 'source.path': {path} is not a file")
