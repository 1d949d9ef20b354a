"""The extractor against real saved county/provincial pages (``../shared/data/gov_pages``,
outside the repository; skipped when absent). Expectations are what each page shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pusher.sources.config import SourceConfig
from pusher.sources.htmlpages import read_detail, read_list

PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gov_pages"
pytestmark = pytest.mark.skipif(not PAGES.is_dir(), reason="shared/data/gov_pages absent")
URL = "https://www.pingtan.gov.cn/zwgk/zfxxgk/gwhwj/gzdt/201503/t20150320_57601.htm"


def _detail(name: str, url: str = URL):  # type: ignore[no-untyped-def]
    return read_detail((PAGES / name).read_text(), url=url, config=SourceConfig())


def test_pingtan_index_box() -> None:
    d = _detail("detail_meta_indextable_pingtan_gwhwj_2015.html")
    assert d.title == "关于贯彻落实全面推进乡镇及村居安全生产责任体系建设的通知"
    assert d.index_number == "PZ00101-2500-2015-00015"
    assert d.doc_number == "岚综管综〔2015〕67号"
    assert d.formed_at == datetime(2015, 3, 18, 16, 0, tzinfo=UTC)  # 2015-03-19 Beijing
    assert d.published_at == datetime(2015, 3, 20, 0, 0, tzinfo=UTC)  # PubDate 08:00
    assert "各乡镇人民政府" in d.body and d.column == "工作动态"


def test_handan_index_block_with_chinese_date() -> None:
    d = _detail("detail_meta_indexblock_trs_handan_2020.html")
    assert d.index_number == "000014348/2020-35147" and d.doc_number is None  # 文号：无
    assert d.publisher == "邯郸市教育局" and d.topic == "教育"
    assert d.published_at == datetime(2020, 8, 1, 16, 0, tzinfo=UTC)


def test_hanweb_markers_and_lower_case_meta() -> None:
    d = _detail("detail_meta_hanweb_zjfgw_deqing_2016.html")
    assert d.title == "1-10月德清县固定资产投资结构趋稳趋优"
    assert d.body.startswith("1-10月，全县固定资产投资完成246.79亿元")
    assert d.body.endswith("（德清县发改局）")
    assert d.publisher == "省发改委"


def test_shanxi_trs_editor_and_govcn_without_meta() -> None:
    shanxi = _detail("detail_meta_trs_shanxi_gov_2019.html")
    assert shanxi.title == "山西品牌丝路行（南美站）正式启动" and shanxi.publisher == "山西日报"
    assert "跨越千山万水" in shanxi.body
    govcn = _detail("detail_nometa_govcn_gwygb_2007.html")
    assert govcn.title.startswith("全国人民代表大会常务委员会关于批准财政部发行特别国债")
    assert "第十届全国人民代表大会常务委员会" in govcn.body


def test_list_pages() -> None:
    column = "https://www.pingtan.gov.cn/zwgk/ghxx/gzjzqk/"
    static = read_list((PAGES / "list_static_pingtan_ghxx_gzjzqk.html").read_text(),
                       url=column, config=SourceConfig())  # fmt: skip
    assert len(static.links) == 15 and all(f.published_at for f in static.links)
    engebei = read_list((PAGES / "list_trs_ordos_engebei_xxgknb.html").read_text(),
                        url="http://x.gov.cn/xxgknb/index.html", config=SourceConfig())  # fmt: skip
    assert len(engebei.links) == 10
    assert engebei.links[0].title == "鄂尔多斯市2019年政府信息公开工作年度报告"
    js = read_list((PAGES / "list_jsrendered_pingtan_zfxxgk_gwhwj_gzdt.html").read_text(),
                   url=URL, config=SourceConfig())  # fmt: skip
    assert js.links == []  # rendered by script: only the site's API lists it
