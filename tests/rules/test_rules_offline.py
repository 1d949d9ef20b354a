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
        ("groups:\n  - name: x\n    any: 养老\n", "", "groups[0].any must be a list"),
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


def test_a_missing_rules_file_is_fatal(tmp_path: Path, cache: Path) -> None:
    _, items_path = write(tmp_path, RULES, '{"id": "a", "title": "", "body": ""}\n')
    code, out, err = run(tmp_path / "none.yaml", items_path, cache)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "none.yaml: no such file" in err


BAD_LINES = [
    '{"id": "a", "title": "高龄津贴发放", "body": "请老年人领取。"}',
    '{"id": "b",',  # line 2: cut short
    "",  # line 3: blank, ignored
    '{"id": "c", "title": "只有标题"}',  # line 4: no body
    '["not", "an", "object"]',  # line 5
    '{"id": "d", "title": "养老", "body": "", "urgency": "soon"}',  # line 6
    '{"id": "e", "title": "低保户名单公示", "body": ""}',
]


def test_malformed_item_lines_are_reported_and_skipped(tmp_path: Path, cache: Path) -> None:
    rules_path, items_path = write(tmp_path, RULES, "\n".join(BAD_LINES) + "\n")
    with items_path.open("ab") as f:
        f.write(b'{"id": "f", "title": "\xff\xfe", "body": ""}\n')  # line 8: not UTF-8
    code, out, err = run(rules_path, items_path, cache)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "e"]
    problems = err.splitlines()
    assert [p.split(": ")[1].rsplit(":", 1)[1] for p in problems] == ["2", "4", "5", "6", "8"]
    assert all(p.startswith("pusher match: ") and p.endswith("(skipped)") for p in problems)
    assert "invalid JSON" in problems[0] and "'body' is missing" in problems[1]
    assert "expected a JSON object" in problems[2] and "'urgency'" in problems[3]
    assert "not UTF-8" in problems[4]


def test_region_code_scopes_an_item(tmp_path: Path, cache: Path) -> None:
    items = [
        {"id": "in", "title": "停水通知", "body": "", "region": "360123101"},
        {"id": "num", "title": "停水通知", "body": "", "region": 360123101},
        {"id": "out", "title": "停水通知", "body": "", "region": "360123102"},
        {"id": "none", "title": "停水通知", "body": ""},
        {
            "id": "path-wins",
            "title": "停水通知",
            "body": "",
            "region": "360123102",
            "region_path": ["3601", "360123101"],
        },
    ]
    lines = "\n".join(json.dumps(i, ensure_ascii=False) for i in items)
    code, out, err = run(*write(tmp_path, RULES, lines), cache)
    assert (code, err) == (0, "")
    groups = {r["id"]: [g["name"] for g in r["groups"]] for r in map(json.loads, out.splitlines())}
    assert groups == {
        "in": ["南塘村停水"],
        "num": ["南塘村停水"],
        "out": [],
        "none": [],
        "path-wins": ["南塘村停水"],
    }


ALL_FORMS = """\
groups:
  - name: 耕地补贴
    all: [耕地, 补贴]
    fields: [title]
  - name: 医保缴费
    rule: "title:医保 & 缴费 & !招聘"
  - name: 救灾
    any: [暴雨, 台风]
    none: [演练]
"""


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"title": "耕地地力保护补贴发放公示", "body": ""}, ["耕地补贴"]),
        ({"title": "补贴发放公示", "body": "耕地面积以确权为准"}, []),  # all-of in titles only
        ({"title": "城乡居民医保开始缴费", "body": ""}, ["医保缴费"]),
        ({"title": "缴费通知", "body": "城乡居民医保"}, []),  # title: scope
        ({"title": "医保缴费窗口招聘", "body": ""}, []),  # none-of
        ({"title": "暴雨防御", "body": "请转移"}, ["救灾"]),
        ({"title": "暴雨防御演练", "body": ""}, []),
    ],
)
def test_rules_file_forms_match_as_written(
    tmp_path: Path, cache: Path, item: dict[str, str], expected: list[str]
) -> None:
    line = json.dumps({"id": "x", **item}, ensure_ascii=False)
    code, out, _ = run(*write(tmp_path, ALL_FORMS, line), cache)
    assert code == 0
    [record] = [json.loads(x) for x in out.splitlines()]
    assert [g["name"] for g in record["groups"]] == expected
    for group in record["groups"]:
        for reason in group["reasons"]:
            text = item[reason["field"]]
            assert text[reason["offset"] :].startswith(reason["matched_text"])
