"""Rebuild the texts of the labelled classification set from their public sources.

The texts are not committed (they belong to their sources); their ids, the split and the
hand labels are (``labels.jsonl``). This script reads each source and writes
``bench/classify/texts/<source>.jsonl`` (git-ignored), one record a line:
``{"id", "title", "body", "issuer", "source"}``.

Sources
-------
``gaq``  service-item guide list (办事指南) of 广安市广安区, Sichuan, from the public
         repository v-luobo/zwfw (Apache-2.0), file ``bszl-data.js``: item names by
         department. Fetch it (``git clone https://github.com/v-luobo/zwfw``) and run::

             python bench/classify/rebuild.py [--gaq PATH_TO_REPO_OR_bszl-data.js]

         Without ``--gaq`` the mirror under ``/work/.mirror/v-luobo+zwfw/repo`` is read.
``gcn``  State Council documents of 2018-19 with their gov.cn 主题分类, from the public
         repository ZhouYNF/platform-1, file ``db/ge_policy_raw20190217.sql`` (official
         documents, outside copyright under PRC Copyright Law art. 5; the repository states
         no licence). Title and the first 500 characters of the text. The 15 documents the
         shared sample already holds (``govcn-*``) are left out. ``--gcn PATH`` as above;
         default ``/work/.mirror/ZhouYNF+platform-1/repo``.
``ptn``  notices of 平潭综合实验区 (Pingtan county, Fujian) from the public archive of its
         disclosure site, repository changwu/pingtan-gov-zwgk-archive (no licence file; the
         notices are official government information), file ``pingtan/_index.tsv`` at
         commit ``12f00b4``: title and issuing department of the rows whose id (the number
         of the ``t<date>_<id>.htm`` address) is labelled ``ptn-<id>``. ``--ptn PATH`` (a
         clone, or the ``_index.tsv`` itself); default
         ``/work/.mirror/changwu+pingtan-gov-zwgk-archive/repo``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "texts"
GAQ_MIRROR = Path("/work/.mirror/v-luobo+zwfw/repo")
GAQ_COMMIT = "11bd626"
GAQ_FILE = "bszl-data.js"
GCN_MIRROR = Path("/work/.mirror/ZhouYNF+platform-1/repo")
GCN_COMMIT = "2197df5"
GCN_FILE = "db/ge_policy_raw20190217.sql"
#: gov.cn content ids of the documents already in the shared sample (``govcn-*``).
GCN_IN_SAMPLE = frozenset(
    [
        "5353307",
        "5352666",
        "5352010",
        "5351718",
        "5351713",
        "5351707",
        "5351671",
        "5351649",
        "5351624",
        "5351607",
        "5351598",
        "5351596",
        "5351593",
        "5351590",
        "5351586",
    ]
)
BODY_CHARS = 500
PTN_MIRROR = Path("/work/.mirror/changwu+pingtan-gov-zwgk-archive/repo")
PTN_COMMIT = "12f00b4205da89f3fa531f747c608e88308a046c"
PTN_FILE = "pingtan/_index.tsv"
LABELS = HERE / "labels.jsonl"


def _read(path: Path, commit: str, name: str) -> str:
    """A file given directly, inside a work tree, or at ``commit`` of a bare git mirror."""
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if (path / name).is_file():
        return (path / name).read_text(encoding="utf-8")
    show = ["git", "--git-dir", str(path), "show", f"{commit}:{name}"]
    return subprocess.run(show, capture_output=True, check=True).stdout.decode("utf-8")


def gcn_records(source: str) -> list[dict[str, str]]:
    """The State Council documents of the SQL dump, minus those of the shared sample."""
    out = []
    for part in source.split("insert into ge_policy_raw")[1:]:
        head = re.search(r"values \((\d+), '([^']*)', '[^']*', '[^']*', '([^']*)', '([^']*)'", part)
        if head is None:
            continue
        url, title, office = head.group(2), head.group(3), head.group(4)
        content_id = re.search(r"content_(\d+)", url)
        if content_id is None or content_id.group(1) in GCN_IN_SAMPLE:
            continue
        text = html.unescape(re.sub(r"\s+", "", re.sub(r"<[^>]+>", " ", part)))
        dated = re.search(r"发布日期：\d{4}年\d{2}月\d{2}日", text)
        body = text[dated.end() :] if dated else text
        body = body.replace(title, "", 1)[:BODY_CHARS]
        out.append(
            {
                "id": f"gcn-{content_id.group(1)}",
                "title": title,
                "body": body,
                "issuer": office,
                "source": url,
            }
        )
    return out


def gaq_records(source: str) -> list[dict[str, str]]:
    """The item names of the Guang'an district list, one record each, de-duplicated."""
    data = json.loads(source[source.index("[") : source.rindex("]") + 1])
    seen: set[str] = set()
    out = []
    for department in data:
        for group in department["items"]:
            for sub in group["sub_items"]:
                name = " ".join(sub["name"].split())
                if not name or name in seen:
                    continue
                seen.add(name)
                digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
                out.append(
                    {
                        "id": f"gaq-{digest}",
                        "title": name,
                        "body": "",
                        "issuer": department["department"],
                        "source": "v-luobo/zwfw bszl-data.js (Apache-2.0)",
                    }
                )
    return out


def ptn_records(source: str, wanted: set[str]) -> list[dict[str, str]]:
    """The rows of the Pingtan index whose ``ptn-<id>`` is in ``wanted`` (title only)."""
    out = []
    for line in source.splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) < 6:
            continue
        found = re.search(r"_(\d+)\.htm", cells[5])
        if found is None or f"ptn-{found.group(1)}" not in wanted:
            continue
        record = {"title": cells[1], "body": "", "issuer": cells[4], "source": cells[5]}
        out.append({"id": f"ptn-{found.group(1)}", **record})
        wanted.discard(f"ptn-{found.group(1)}")
    return out


def labelled(prefix: str) -> set[str]:
    """The ids of ``labels.jsonl`` starting with ``prefix``."""
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    ids = (str(json.loads(line)["id"]) for line in lines if line.strip())
    return {i for i in ids if i.startswith(prefix)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaq", type=Path, default=GAQ_MIRROR)
    parser.add_argument("--gcn", type=Path, default=GCN_MIRROR)
    parser.add_argument("--ptn", type=Path, default=PTN_MIRROR)
    args = parser.parse_args(argv)
    readers: dict[str, tuple[Path, Callable[[], list[dict[str, str]]]]] = {
        "gaq": (args.gaq, lambda: gaq_records(_read(args.gaq, GAQ_COMMIT, GAQ_FILE))),
        "gcn": (args.gcn, lambda: gcn_records(_read(args.gcn, GCN_COMMIT, GCN_FILE))),
        "ptn": (
            args.ptn,
            lambda: ptn_records(_read(args.ptn, PTN_COMMIT, PTN_FILE), labelled("ptn-")),
        ),
    }
    sets = {}
    for name, (where, read) in readers.items():
        try:
            sets[name] = read()
        except (OSError, subprocess.CalledProcessError, ValueError) as exc:
            print(f"cannot read source {name} ({where}): {exc}", file=sys.stderr)
    if not sets:
        return 1
    TEXTS.mkdir(exist_ok=True)
    for name, records in sets.items():
        with (TEXTS / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} records to {TEXTS / f'{name}.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
