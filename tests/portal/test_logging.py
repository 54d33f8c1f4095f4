import io
import json
import logging

import pytest

from integrations.models import Connection
from portal.logs import MaskSecretsFilter, SingleLineFormatter
from portal.redaction import forget_all_secrets


@pytest.fixture
def log_output():
    forget_all_secrets()  # secrets other tests stored (e.g. "secret") would mask words of these messages
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskSecretsFilter())
    handler.setFormatter(SingleLineFormatter())
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.fixture
def stored_secret(db):
    Connection.objects.create(name="金蝶", kind="kingdee", base_url="http://k3/k3cloud/", acct_id="a", username="u",
                              app_id="x_y", app_secret="zq8-stored-kingdee-secret")
    return "zq8-stored-kingdee-secret"


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_stored_secret_in_a_message_is_masked(log_output, stored_secret):
    logger, stream = log_output
    logger.info("connecting with %s now", stored_secret)
    assert stored_secret not in stream.getvalue()
    assert lines(stream)[0]["message"] == "connecting with *** now"


def test_a_secret_inside_an_exception_is_masked(log_output, stored_secret):
    logger, stream = log_output
    try:
        raise RuntimeError(f"login refused for secret {stored_secret}")
    except RuntimeError:
        logger.exception("call failed")
    record = lines(stream)[0]
    assert stored_secret not in stream.getvalue()
    assert "login refused for secret ***" in record["exception"]


def test_token_parameters_in_urls_and_json_bodies_are_masked(log_output):
    logger, stream = log_output
    logger.info("GET https://oapi.dingtalk.com/gettoken?appkey=dingx&appsecret=S3cr3tValue&x=1")
    logger.info('POST {"appKey": "dingx", "appSecret": "AnotherS3cret", "code": "auth-code-1"}')
    output = stream.getvalue()
    assert "S3cr3tValue" not in output and "AnotherS3cret" not in output and "auth-code-1" not in output
    assert "appkey=dingx" in output and "appsecret=***" in output


def test_every_record_is_one_line_of_json(log_output):
    logger, stream = log_output
    logger.warning("two\nlines")
    assert len(stream.getvalue().splitlines()) == 1
    assert lines(stream)[0]["level"] == "WARNING"
