"""Stage cache: a stage is reused when nothing that could change its outputs has.

A stage's key hashes its name, the config sections it reads, the project's code and the
stage's notebook, the source's fingerprint and the keys of every earlier stage in the
run, so any change upstream changes every key after it. :func:`cached_outputs` computes a
stage's outputs once per key into ``data/cache/<stage>/<key>/outputs``;
:func:`ensure_stage` does so for a stage and everything before it, without notebooks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from customer_analytics.config import SECRET_ENV, Config, project_root
from customer_analytics.pipeline.outputs import META_FILE
from customer_analytics.pipeline.registry import run_function
from customer_analytics.privacy import key_fingerprint
from customer_analytics.utils.checksums import file_sha256, sha256_file

_PACKAGE_DIR = Path(__file__).resolve().parents[1]

# Sections that never change a stage's numbers (where reports go, how many are kept).
_IRRELEVANT = {"reports"}


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the package's code and data files: editing either invalidates caches."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.suffix in {".py", ".yaml", ".csv", ".json", ".html", ".css", ".j2"}:
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


def stage_key(cfg: Config, stage: str, upstream: list[str]) -> str:
    """The cache key of ``stage`` given the keys of the stages before it."""
    notebook = notebook_path(stage)
    payload = {
        "stage": stage,
        "config": {
            k: v for k, v in cfg.to_jsonable().items() if k not in _IRRELEVANT and k != "run"
        },
        "as_of": str(cfg.run.as_of),
        "snapshot_offset_days": cfg.run.snapshot_offset_days,
        "code": code_fingerprint(),
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest() if notebook.exists() else "",
        "source": source_fingerprint(cfg),
        "experiments_file": _experiments_file_fingerprint(cfg),
        "upstream": upstream,
        "secret": _secret_fingerprint(),
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def stage_keys(cfg: Config) -> dict[str, str]:
    """Every configured stage's cache key, chained in pipeline order."""
    keys: dict[str, str] = {}
    for stage in cfg.run.stages:
        keys[stage] = stage_key(cfg, stage, list(keys.values()))
    return keys


def upstream_of(cfg: Config, stage: str) -> list[str]:
    """The configured stages before ``stage`` (all of them for a stage not configured)."""
    stages = list(cfg.run.stages)
    return stages[: stages.index(stage)] if stage in stages else stages


def cached_outputs(cfg: Config, stage: str, key: str, inputs: dict[str, Path]) -> Path:
    """The stage's outputs for ``key``, computed once and then reused."""
    entry = cfg.cache_dir / stage / key / "outputs"
    if (entry / META_FILE).is_file():
        return entry
    (cfg.cache_dir / stage).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cfg.cache_dir / stage))
    out = tmp / "outputs"
    out.mkdir()
    try:
        findings = run_function(stage)(cfg, inputs, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed stage leaves nothing behind
        raise
    (out / META_FILE).write_text(
        json.dumps({"stage": stage, "key": key, "findings": findings}, default=str, indent=1)
    )
    publish_dir(tmp, entry.parent)
    return entry


def ensure_stage(cfg: Config, stage: str) -> Path:
    """Compute (or reuse) a stage and everything before it, without notebooks."""
    keys = stage_keys(cfg)
    if stage not in keys:
        raise KeyError(f"stage {stage} is not in run.stages {list(cfg.run.stages)}")
    inputs: dict[str, Path] = {}
    for name in [*upstream_of(cfg, stage), stage]:
        inputs[name] = cached_outputs(cfg, name, keys[name], dict(inputs))
    return inputs[stage]


def publish_dir(tmp: Path, final: Path) -> Path:
    """Move a fully written folder into place, so a crash never leaves half a cache entry."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, final)
    except OSError:
        # Another process published the same key first: its content is equivalent.
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def link_tree(src: Path, dst: Path) -> None:
    """Copy a folder by hard links where possible (cheap, and cache entries are never edited)."""
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.rglob("*"):
        target = dst / item.relative_to(src)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        try:
            os.link(item, target)
        except OSError:
            shutil.copy2(item, target)
