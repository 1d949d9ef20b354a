"""One jieba tokenizer for the whole test session (building it takes ~1 s)."""

from __future__ import annotations

import warnings

import pytest

from pusher.summary import Notice

# jieba 0.42.1 has invalid escape sequences; compiling it without a cached .pyc (the
# venv sets PYTHONDONTWRITEBYTECODE) warns, and filterwarnings=error makes that fatal.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import jieba


@pytest.fixture(scope="session")
def tokenizer() -> jieba.Tokenizer:
    """A private, initialised tokenizer (never jieba's global one)."""
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk


@pytest.fixture(scope="session")
def gaoling() -> Notice:
    """高龄津贴发放: deadline, amounts, eligible, place, landline."""
    return Notice(
        title="某某镇人民政府关于发放2024年高龄津贴的通知",
        publisher="某某镇人民政府",
        body=(
            "各村（社区）：\n根据上级要求，现将2024年高龄津贴发放工作通知如下。"
            "凡年满80周岁的老年人，请于2024年3月31日前携带身份证、户口本到户籍所在地村委会办理，"
            "80至89周岁每人每月200元，90周岁以上每人每月300元。"
            "咨询电话：0791-12345678。"
        ),
    )


@pytest.fixture(scope="session")
def gengdi() -> Notice:
    """耕地地力保护补贴 公示: date range, per-mu amount, mobile phone."""
    return Notice(
        title="关于2024年耕地地力保护补贴发放的公示",
        body=(
            "根据《江西省耕地地力保护补贴实施方案》，2024年耕地地力保护补贴标准为每亩120元，"
            "补贴对象为拥有耕地承包权的种地农民。公示时间：2024年5月6日至5月12日。"
            "如有异议，请在公示期内到镇便民服务中心反映，联系人：李会计，电话13907912345。"
        ),
    )


@pytest.fixture(scope="session")
def yibao() -> Notice:
    """城乡居民医保缴费: 即日起 deadline, yearly fee, landline and hotline."""
    return Notice(
        title="关于做好2025年度城乡居民基本医疗保险参保缴费工作的通知",
        body=(
            "2025年度城乡居民医保集中缴费期为即日起至2024年12月31日，个人缴费标准为每人每年400元。"
            "未参加职工医保的本镇户籍居民均可参保。可通过“赣服通”或到村（社区）便民服务点缴费。"
            "医保咨询电话：0797-8881234，医保热线12393。"
        ),
    )


@pytest.fixture(scope="session")
def baoyu() -> Notice:
    """暴雨红色预警: an urgent weather warning."""
    return Notice(
        title="某某县气象台发布暴雨红色预警信号",
        urgency="urgent",
        body=(
            "某某县气象台2024年6月16日08时30分发布暴雨红色预警信号：过去3小时我县东部已出现"
            "100毫米以上降水，预计未来3小时仍将持续，请立即停止户外活动，山洪地质灾害危险区人员"
            "立即转移。防汛值班电话：0797-6612345。"
        ),
    )
