from __future__ import annotations

import importlib
from pathlib import Path

from rules import Tokenizer


def test_tokenizer_is_its_own_and_caches_its_dictionary(
    tokenizer: Tokenizer, jieba_cache_dir: Path
) -> None:
    jieba = importlib.import_module("jieba")
    assert tokenizer is not jieba.dt
    assert (jieba_cache_dir / "jieba.cache").is_file()


def test_policy_terms_and_region_names_stay_whole(tokenizer: Tokenizer) -> None:
    words = list(tokenizer.cut("南塘村农村低保户领取耕地地力保护补贴", HMM=False))
    assert words == ["南塘村", "农村", "低保户", "领取", "耕地地力保护补贴"]
