"""``pusher emulate PROVIDER --account FILE``: the emulator answers for what the file holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from pusher.cli.emulate import EmulatorOptions, emulator_app, serve_emulator
from tests.channels.rigs import in_thread
from tests.channels.test_sdk_aliyun import client as aliyun_client
from tests.channels.test_sdk_wechat import client as wechat_client

ALIYUN_YAML = """
sign_names: [青山镇]
refused_numbers: ["13900000099"]
templates:
  SMS_300:
    text: "${town}通知：${content}"
    variables:
      town: {kind: name}
      content: {kind: others, max_len: 60}
"""


def test_an_aliyun_account_file_sets_signs_templates_and_granted_limits(tmp_path: Path) -> None:
    from alibabacloud_dysmsapi20170525 import models as m

    path = tmp_path / "aliyun.yaml"
    path.write_text(ALIYUN_YAML, encoding="utf-8")
    app = emulator_app("aliyun-sms", EmulatorOptions(account_file=path))

    def send(template: str, content: str) -> str:
        params = json.dumps({"town": "青山镇", "content": content}, ensure_ascii=False)
        request = m.SendSmsRequest(
            phone_numbers="13900000001",
            sign_name="青山镇",
            template_code=template,
            template_param=params,
        )
        return str(aliyun_client(host, key="emulator-key", secret="emulator-secret")
                   .send_sms(request).body.code)

    with in_thread(app) as base:
        host = base.removeprefix("http://").rstrip("/")
        assert send("SMS_300", "通" * 60) == "OK"  # granted 60, over the default 35
        assert send("SMS_300", "通" * 61) == "isv.PARAM_LENGTH_LIMIT"
        assert send("SMS_100", "通知") == "isv.SMS_TEMPLATE_ILLEGAL"


def test_a_wechat_account_file_in_json_sets_followers_and_templates(tmp_path: Path) -> None:
    from wechatpy.exceptions import WeChatClientException

    path = tmp_path / "wechat.json"
    account = {"followers": ["oFan0001"], "templates": {"TPL-1": {"thing1": "thing"}}}
    path.write_text(json.dumps(account), encoding="utf-8")
    app = emulator_app("wechat", EmulatorOptions(account_file=path))
    data = {"thing1": {"value": "停水通知"}}
    with in_thread(app) as base:
        sdk = wechat_client(base, app_id="wx-emulator", secret="emulator-secret")
        assert sdk.message.send_template("oFan0001", "TPL-1", data)["errcode"] == 0
        with pytest.raises(WeChatClientException) as caught:
            sdk.message.send_template("oOther01", "TPL-1", data)
        assert caught.value.errcode == 43004


def test_a_wecom_account_file_lists_the_robots(tmp_path: Path) -> None:
    path = tmp_path / "wecom.yaml"
    path.write_text('keys: ["693a91f6-7a2b-4bc4-97a0-0ec2fa5aaa01"]\n', encoding="utf-8")
    app = emulator_app("wecom", EmulatorOptions(account_file=path))
    body = {"msgtype": "text", "text": {"content": "通知"}}
    with in_thread(app) as base:
        url = f"{base}cgi-bin/webhook/send"
        for key, code in [
            ("693a91f6-7a2b-4bc4-97a0-0ec2fa5aaa01", 0),
            ("693a91f6-7a2b-4bc4-97a0-0ec2fa5aaa02", 93000),
        ]:
            assert requests.post(url, params={"key": key}, json=body, timeout=5).json()[
                "errcode"
            ] == code


@pytest.fixture
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving at all is the failure here: fail at once instead of running forever."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the emulator started despite a bad account file")

    monkeypatch.setattr("pusher.cli.emulate.web.run_app", refuse)


@pytest.mark.parametrize(
    "content",
    [
        "templates: [not, a, mapping]\n",
        "templates:\n  T1: {text: '{1}', variables: {'1': {kind: nonsense}}}\n",
        "templates:\n  T1: {text: '{1}', variables: {'2': other}}\n",
        ": : :\n",
    ],
    ids=["templates-not-a-mapping", "unknown-kind", "variable-not-in-text", "not-yaml"],
)
def test_an_unreadable_account_file_stops_the_emulator_with_a_sentence(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str], never_serve: None
) -> None:
    path = tmp_path / "tencent.yaml"
    path.write_text(content, encoding="utf-8")
    options = EmulatorOptions(account_file=path)
    assert serve_emulator("tencent-sms", port=1, options=options) == 2
    assert "账户文件无法读取" in capsys.readouterr().err


def test_a_missing_account_file_stops_the_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], never_serve: None
) -> None:
    options = EmulatorOptions(account_file=tmp_path / "nowhere.yaml")
    assert serve_emulator("wecom", port=1, options=options) == 2
    assert "nowhere.yaml" in capsys.readouterr().err
