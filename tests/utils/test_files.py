"""Copies that never alias their source; temporaries of dead processes removed."""

from __future__ import annotations

import os
from pathlib import Path

from customer_analytics.utils.files import copy_tree, remove_abandoned, temporary_name


def test_a_copy_can_be_edited_without_touching_the_source(tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a.parquet").write_bytes(b"original")
    copy_tree(tmp_path / "src", tmp_path / "dst")
    copied = tmp_path / "dst" / "sub" / "a.parquet"
    assert copied.stat().st_nlink == 1
    copied.write_bytes(b"edited")
    assert (tmp_path / "src" / "sub" / "a.parquet").read_bytes() == b"original"


def test_only_temporaries_whose_process_is_gone_are_removed(tmp_path: Path) -> None:
    mine = tmp_path / f"{temporary_name('.gen-')}x"
    mine.mkdir()
    dead = tmp_path / ".gen-4194303999-y"  # beyond any process id Linux hands out
    dead.mkdir()
    legacy = tmp_path / ".gen-abcdef"  # from before temporaries carried a process id
    legacy.write_text("")
    other = tmp_path / "keep-me"
    other.mkdir()
    removed = remove_abandoned(tmp_path, ".gen-")
    assert sorted(removed) == sorted([dead, legacy])
    assert mine.is_dir() and other.is_dir() and str(os.getpid()) in mine.name
