"""Signing functions against every published vector in reference section 0."""

from __future__ import annotations

from channels.signing import (
    EMPTY_SHA256,
    aliyun_v1_signature,
    aliyun_v1_string_to_sign,
    aliyun_v3_authorization,
    aliyun_v3_canonical_request,
    aliyun_v3_signature,
    aliyun_v3_string_to_sign,
    sha256_hex,
    tc3_authorization,
    tc3_canonical_request,
    tc3_date,
    tc3_signature,
    tc3_string_to_sign,
)

SMS_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}

SMS_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
    "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
    "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF"
    "%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D"
    "45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3D"
    "SMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D"
    "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)

ECS_PARAMS = {
    "Timestamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}


def test_aliyun_v1_sms_example_string_to_sign_and_signature() -> None:
    sts = aliyun_v1_string_to_sign("GET", SMS_PARAMS)
    assert sts == SMS_STRING_TO_SIGN
    assert aliyun_v1_signature("testSecret", sts) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_v1_sms_example_lower_case_secret_gives_the_other_value() -> None:
    sts = aliyun_v1_string_to_sign("GET", SMS_PARAMS)
    assert aliyun_v1_signature("testsecret", sts) == "EpROzuoKhdewdxdmVWhll2qdKbk="


def test_aliyun_v1_signature_param_itself_is_not_signed() -> None:
    with_sig = {**SMS_PARAMS, "Signature": "anything"}
    assert aliyun_v1_string_to_sign("GET", with_sig) == SMS_STRING_TO_SIGN


def test_aliyun_v1_generic_ecs_example() -> None:
    sts = aliyun_v1_string_to_sign("GET", ECS_PARAMS)
    assert aliyun_v1_signature("testsecret", sts) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_v1_generic_ecs_example_older_timestamp_spelling() -> None:
    params = dict(ECS_PARAMS)
    params["TimeStamp"] = params.pop("Timestamp")
    sts = aliyun_v1_string_to_sign("GET", params)
    assert aliyun_v1_signature("testsecret", sts) == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_aliyun_v3_run_instances_example() -> None:
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    query = [
        ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"),
        ("RegionId", "cn-shanghai"),
    ]
    canonical = aliyun_v3_canonical_request("POST", "/", query, headers, headers, EMPTY_SHA256)
    assert sha256_hex(canonical) == (
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    sig = aliyun_v3_signature("YourAccessKeySecret", aliyun_v3_string_to_sign(canonical))
    assert sig == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    assert aliyun_v3_authorization("YourAccessKeyId", headers, sig) == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_tencent_tc3_describe_instances_example() -> None:
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    assert sha256_hex(payload) == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    headers = {
        "content-type": "application/json; charset=utf-8",
        "host": "cvm.tencentcloudapi.com",
    }
    canonical = tc3_canonical_request("POST", "", headers, headers, payload)
    assert sha256_hex(canonical) == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    timestamp = 1551113065
    date = tc3_date(timestamp)
    assert date == "2019-02-25"
    sts = tc3_string_to_sign(timestamp, "cvm", canonical)
    sig = tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", date, "cvm", sts)
    assert sig == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", date, "cvm", headers, sig) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, Signature=" + sig
    )
