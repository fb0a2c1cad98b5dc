"""Stage cache keys change with everything that could change a stage's outputs."""

from __future__ import annotations

import pytest
from support import ROOT

from customer_analytics.config import SECRET_ENV, load_config
from customer_analytics.pipeline.cache import stage_keys


def keys(**overrides: object) -> dict[str, str]:
    return stage_keys(load_config(ROOT / "configs" / "tiny.yaml", dict(overrides)))


def test_keys_are_stable_and_chained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert keys() == keys()
    changed = keys(**{"source.synthetic.seed": 7})
    assert all(changed[s] != k for s, k in keys().items())


def test_report_settings_do_not_invalidate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert keys(**{"reports.keep": 3}) == keys()


def test_a_new_pseudonymisation_key_invalidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    before = keys()
    monkeypatch.setenv(SECRET_ENV, "a-real-secret")
    first = keys()
    monkeypatch.setenv(SECRET_ENV, "another-secret")
    assert before["01_ingest"] != first["01_ingest"] != keys()["01_ingest"]
