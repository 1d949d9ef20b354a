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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "texts"
GAQ_MIRROR = Path("/work/.mirror/v-luobo+zwfw/repo")
GAQ_COMMIT = "11bd626"
GAQ_FILE = "bszl-data.js"


def _read_gaq(path: Path) -> str:
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if (path / GAQ_FILE).is_file():
        return (path / GAQ_FILE).read_text(encoding="utf-8")
    show = ["git", "--git-dir", str(path), "show"]
    out = subprocess.run([*show, f"{GAQ_COMMIT}:{GAQ_FILE}"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaq", type=Path, default=GAQ_MIRROR)
    args = parser.parse_args(argv)
    try:
        records = gaq_records(_read_gaq(args.gaq))
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        print(f"cannot read the gaq source at {args.gaq}: {exc}", file=sys.stderr)
        return 1
    TEXTS.mkdir(exist_ok=True)
    with (TEXTS / "gaq.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {TEXTS / 'gaq.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
