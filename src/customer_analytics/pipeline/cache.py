"""Stage cache: a stage is reused when nothing that could change its outputs has.

A stage's key hashes its name, the config sections it reads, the project's code and the
stage's notebook, the source's fingerprint and the keys of every earlier stage in the
run, so any change upstream changes every key after it. A stage that compares runs
(``compares`` in the registry) also hashes the earlier run's id and findings
(:func:`compared_run`): a comparison with another run is computed anew.
:func:`cached_outputs` computes a stage's outputs once per key into
``data/cache/<stage>/<key>/outputs``; :func:`ensure_stage` does so for a stage and
everything before it, without notebooks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from customer_analytics.config import SECRET_ENV, Config, project_root
from customer_analytics.pipeline import runs
from customer_analytics.pipeline.outputs import META_FILE, EarlierRun
from customer_analytics.pipeline.registry import RUN_FIELDS, compares, run_function, settings_of
from customer_analytics.privacy import key_fingerprint
from customer_analytics.utils.checksums import file_sha256, sha256_file
from customer_analytics.utils.files import remove_abandoned, temporary_name

log = logging.getLogger("customer_analytics.run")

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the package's code and data files: editing either invalidates caches."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.suffix in {".py", ".yaml", ".csv", ".json", ".html", ".css", ".j2", ".po"}:
            digest.update(str(path.relative_to(_PACKAGE_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def notebook_path(stage: str) -> Path:
    return project_root() / "notebooks" / f"{stage}.ipynb"


def source_fingerprint(cfg: Config) -> str:
    """What identifies the source's bytes: its checksum, or the generator's settings."""
    if cfg.source.kind == "synthetic":
        return json.dumps(cfg.source.synthetic.model_dump(mode="json"), sort_keys=True)
    if cfg.source.kind == "files":
        paths = [cfg.source_file(m.file) for m in cfg.source.tables.values()]
    else:
        paths = [cfg.source_path]
    return "+".join(file_sha256(p) for p in paths)


def _secret_fingerprint() -> str:
    """A tag of the pseudonymisation key in use: a new key must not reuse old pseudonyms."""
    secret = os.environ.get(SECRET_ENV, "")
    return key_fingerprint(secret.encode()) if secret else "no-secret"


def _experiments_file_fingerprint(cfg: Config) -> str:
    """The shared experiments file's bytes: the config holds only its path, and the
    clean rules (arms, metric columns) and the A/B stage read what it says."""
    if cfg.ab.experiments_file is None:
        return ""
    path = cfg.resolve(cfg.ab.experiments_file)
    return sha256_file(path) if path.is_file() else "missing"


def compared_run(cfg: Config, stage: str, before: str | None = None) -> dict[str, Any] | None:
    """The earlier run ``stage`` compares this run with (a record of
    :func:`~customer_analytics.pipeline.runs.earlier_run`), or None for a stage that
    compares no runs. ``before`` is the comparing run's id (None: any earlier run)."""
    setting = compares(stage)
    if setting is None:
        return None
    section, name = setting.split(".")
    pinned = getattr(getattr(cfg, section), name)
    return runs.earlier_run(
        cfg.reports_dir, cfg.run.name, pinned=pinned, before=before, setting=setting
    )


def compared_runs(cfg: Config, before: str | None = None) -> dict[str, dict[str, Any]]:
    """For each configured stage that compares runs, the run it compares with."""
    found = {s: compared_run(cfg, s, before) for s in cfg.run.stages}
    return {s: record for s, record in found.items() if record is not None}


def _identity(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """What of a compared run a key covers: which run, what it found, or why none."""
    if record is None:
        return None
    return {k: record.get(k) for k in ("run_id", "findings_sha256", "problem")}


def stage_key(
    cfg: Config, stage: str, upstream: list[str], compared: dict[str, Any] | None = None
) -> str:
    """The cache key of ``stage`` given the keys of the stages before it.

    It covers the settings sections the stage declares (``pipeline/registry.py``; of
    ``run`` only :data:`~customer_analytics.pipeline.registry.RUN_FIELDS`), what those
    sections point at outside the config (the source's bytes, the experiments file, the
    pseudonymisation key), the code, the stage's notebook and the upstream keys: a
    setting another stage reads does not move this one. A stage that compares runs
    also covers ``compared`` (:func:`compared_run`): the earlier run's id and the hash
    of its findings, or why there is none.
    """
    sections = settings_of(stage)
    dumped = cfg.to_jsonable()
    settings = {s: dumped[s] for s in sections if s != "run"}
    if "run" in sections:
        settings["run"] = {f: str(getattr(cfg.run, f)) for f in RUN_FIELDS}
    notebook = notebook_path(stage)
    payload = {
        "stage": stage,
        "settings": settings,
        "code": code_fingerprint(),
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest() if notebook.exists() else "",
        "source": source_fingerprint(cfg) if "source" in sections else "",
        "experiments_file": _experiments_file_fingerprint(cfg) if "ab" in sections else "",
        "secret": _secret_fingerprint() if "privacy" in sections else "",
        "upstream": upstream,
    }
    if compares(stage) is not None:
        payload["compared"] = _identity(compared)
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def stage_keys(cfg: Config, compared: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """Every configured stage's cache key, chained in pipeline order.

    ``compared`` holds, for the stages that compare runs, the run each compares with (as
    a run's manifest records it); None: found now (:func:`compared_run`).
    """
    keys: dict[str, str] = {}
    for stage in cfg.run.stages:
        record = compared.get(stage) if compared is not None else compared_run(cfg, stage)
        keys[stage] = stage_key(cfg, stage, list(keys.values()), record)
    return keys


def upstream_of(cfg: Config, stage: str) -> list[str]:
    """The configured stages before ``stage`` (all of them for a stage not configured)."""
    stages = list(cfg.run.stages)
    return stages[: stages.index(stage)] if stage in stages else stages


def cached_outputs(
    cfg: Config,
    stage: str,
    key: str,
    inputs: dict[str, Path],
    compared: dict[str, Any] | None = None,
) -> Path:
    """The stage's outputs for ``key``, computed once and then reused.

    A finished entry is reused only if its files still have the checksums written when
    it was made (:func:`seal`); one that fails the check is logged and recomputed.
    Temporaries of computations whose process was killed are removed first. A stage
    that compares runs is handed the run ``compared`` names as ``earlier``
    (:class:`~customer_analytics.pipeline.outputs.EarlierRun`).
    """
    entry = cfg.cache_dir / stage / key / "outputs"
    if (entry / META_FILE).is_file() and entry_intact(entry.parent, stage):
        return entry
    (cfg.cache_dir / stage).mkdir(parents=True, exist_ok=True)
    remove_abandoned(cfg.cache_dir / stage, ".")
    tmp = Path(tempfile.mkdtemp(prefix=temporary_name("."), dir=cfg.cache_dir / stage))
    out = tmp / "outputs"
    out.mkdir()
    try:
        extra = {"earlier": EarlierRun.from_record(compared)} if compares(stage) else {}
        findings = run_function(stage)(cfg.only(settings_of(stage), stage), inputs, out, **extra)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed stage leaves nothing behind
        raise
    (out / META_FILE).write_text(
        json.dumps({"stage": stage, "key": key, "findings": findings}, default=str, indent=1)
    )
    seal(out)
    publish_dir(tmp, entry.parent)
    return entry


def sweep(cache_dir: Path) -> list[Path]:
    """Remove the temporaries that killed processes left anywhere in the cache (a stage's
    half-computed outputs, a half-stored report); those of live processes stay."""
    removed: list[Path] = []
    for stage in cache_dir.iterdir() if cache_dir.is_dir() else []:
        if stage.is_dir():
            removed += remove_abandoned(stage, ".")
            for entry in (e for e in stage.iterdir() if e.is_dir()):
                removed += remove_abandoned(entry, ".report-")
    return removed


def _checksums_file(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}.sha256.json")


def seal(folder: Path) -> None:
    """Record the SHA-256 of every file in ``folder`` beside it (``<folder>.sha256.json``),
    so a later reuse can tell that nothing in it changed."""
    digests = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    _checksums_file(folder).write_text(json.dumps(digests, indent=1))


def changed(folder: Path) -> str | None:
    """What differs in ``folder`` from its seal (a file changed, missing or added), or
    None when it is as sealed. A folder without a seal counts as changed."""
    sealed = _checksums_file(folder)
    if not sealed.is_file():
        return f"{folder} has no checksums"
    digests = json.loads(sealed.read_text())
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for name in sorted(set(digests) | present):
        if name not in present:
            return f"{name} is missing"
        if name not in digests:
            return f"{name} was added"
        if sha256_file(folder / name) != digests[name]:
            return f"{name} changed"
    return None


def entry_intact(entry: Path, stage: str) -> bool:
    """Whether a cache entry's sealed folders (``outputs``, and ``report`` once the runner
    stored it) are as sealed; an entry that is not is removed, and the log says why."""
    # The runner stores one report folder per set of report languages ("report",
    # "report-zh-en"), each sealed on its own.
    reports = sorted(p for p in entry.glob("report*") if p.is_dir())
    for folder in [entry / "outputs", *reports]:
        part = folder.name
        problem = changed(folder)
        if problem is not None:
            log.warning(
                "cache entry %s of stage %s failed its check (%s/%s): recomputing",
                entry.name,
                stage,
                part,
                problem,
            )
            shutil.rmtree(entry, ignore_errors=True)
            return False
    return True


def ensure_stage(cfg: Config, stage: str) -> Path:
    """Compute (or reuse) a stage and everything before it, without notebooks."""
    if stage not in cfg.run.stages:
        raise KeyError(f"stage {stage} is not in run.stages {list(cfg.run.stages)}")
    compared = compared_runs(cfg)
    keys = stage_keys(cfg, compared)
    inputs: dict[str, Path] = {}
    for name in [*upstream_of(cfg, stage), stage]:
        inputs[name] = cached_outputs(cfg, name, keys[name], dict(inputs), compared.get(name))
    return inputs[stage]


def publish_dir(tmp: Path, final: Path) -> bool:
    """Move a fully written folder into place, so a crash never leaves half a cache entry.

    Returns False when another process published the same key first (its content is
    equivalent, and ``tmp`` is removed).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    return True
