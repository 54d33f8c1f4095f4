from tests.sandbox_kingdee.fixtures import creds, faults, fresh_injector, kd_url, people  # noqa: F401
