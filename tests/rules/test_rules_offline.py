from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rules.offline import run_match

RULES = """\
groups:
  - name: 养老服务
    any: [养老, 高龄津贴, 老年人]
    all: []
    none: [招聘]
    fields: [title, body]
    region: null
    domains: []
    urgency: null
  - name: 低保户
    rule: "低保 | 最低生活保障 & !招聘"
  - name: 南塘村停水
    any: [停水]
    region: 360123101
"""

ITEMS = [
    {"id": "a", "title": "高龄补贴发放通知", "body": "请老年人到村委会领取。", "extra": 1},
    {"id": "b", "title": "低保户名单公示", "body": "", "region_path": ["3601"]},
    {"id": "c", "title": "停水通知", "body": "明日停水。", "region_path": ["3601", "360123101"]},
    {"id": "d", "title": "中秋晚会", "body": "欢迎参加。"},
    {"id": "e", "title": "养老院招聘护工", "body": ""},
]


def write(tmp_path: Path, rules: str, items: str) -> tuple[Path, Path]:
    rules_path, items_path = tmp_path / "rules.yaml", tmp_path / "items.jsonl"
    rules_path.write_text(rules, encoding="utf-8")
    items_path.write_text(items, encoding="utf-8")
    return rules_path, items_path


def run(rules_path: Path, items_path: Path, cache: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_match(rules_path, items_path, out, err=err, cache_dir=cache)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "offline-jieba"


def test_one_json_line_per_item_with_reasons(tmp_path: Path, cache: Path) -> None:
    items = "\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS) + "\n\n"
    code, out, err = run(*write(tmp_path, RULES, items), cache)
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert list(by_id) == ["a", "b", "c", "d", "e"]
    assert [g["name"] for g in by_id["a"]["groups"]] == ["养老服务"]
    assert "养老服务" in by_id["a"]["domains"]
    reasons = {(r["keyword"], r["field"], r["offset"]) for r in by_id["a"]["groups"][0]["reasons"]}
    assert reasons == {("高龄津贴", "title", 0), ("老年人", "body", 1)}
    assert [g["name"] for g in by_id["b"]["groups"]] == ["低保户"]
    assert [g["name"] for g in by_id["c"]["groups"]] == ["南塘村停水"]
    assert by_id["c"]["groups"][0]["rules"] == ["停水 & region:360123101"]
    assert by_id["d"] == {"id": "d", "domains": [], "groups": []}
    assert by_id["e"]["groups"] == []


@pytest.mark.parametrize(
    ("rules", "items", "message"),
    [
        ("groups: [", '{"id": "a", "title": "", "body": ""}', "invalid YAML"),
        ("nothing: 1", '{"id": "a", "title": "", "body": ""}', "'groups' list"),
        (
            "groups:\n  - name: x\n    rule: '养老 |'\n",
            '{"id": "a", "title": "", "body": ""}',
            "groups[0]: invalid rule: expected a keyword after '|' (at position 4",
        ),
        (
            "groups:\n  - name: x\n    any: [养老]\n    urgency: soon\n",
            '{"id": "a", "title": "", "body": ""}',
            "urgency: takes normal or urgent",
        ),
        ("groups:\n  - name: x\n    anything: [养老]\n", "", "unknown keys ['anything']"),
        ("groups:\n  - name: x\n    any: [养老]\n", '{"id": "a", "title": ""}\n', "items.jsonl:1"),
        ("groups:\n  - name: x\n    any: [养老]\n", '{"id": "a",\n', "invalid JSON"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(
    tmp_path: Path, cache: Path, rules: str, items: str, message: str
) -> None:
    code, out, err = run(*write(tmp_path, rules, items), cache)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("pusher match: ")
    assert message in err
    assert "Traceback" not in err


def test_missing_file_is_reported(tmp_path: Path, cache: Path) -> None:
    rules_path, _ = write(tmp_path, RULES, "")
    code, _, err = run(rules_path, tmp_path / "nope.jsonl", cache)
    assert code == 2
    assert "nope.jsonl: no such file" in err
