from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from rules import ItemText, Matcher, RuleSpec, Tokenizer, build_tokenizer, compile_rules


@pytest.fixture(scope="session")
def jieba_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rules-jieba-cache")


@pytest.fixture(scope="session")
def tokenizer(jieba_cache_dir: Path) -> Tokenizer:
    return build_tokenizer(extra_words=["南塘村", "东湖社区"], cache_dir=jieba_cache_dir)


@pytest.fixture(scope="session")
def compile_specs(tokenizer: Tokenizer) -> Callable[[Sequence[RuleSpec]], Matcher]:
    def build(specs: Sequence[RuleSpec]) -> Matcher:
        return compile_rules(specs, tokenizer=tokenizer)

    return build


@pytest.fixture(scope="session")
def groups_of(
    compile_specs: Callable[[Sequence[RuleSpec]], Matcher],
) -> Callable[..., list[str]]:
    """Group names one item matches under the given specs."""

    def run(specs: Sequence[RuleSpec], title: str = "", body: str = "", **kw: object) -> list[str]:
        item = ItemText(id="t", title=title, body=body, **kw)  # type: ignore[arg-type]
        return [m.group for m in compile_specs(specs).match(item)]

    return run
