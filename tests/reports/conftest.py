from tests.sandbox_kingdee.fixtures import api, creds, faults, fresh_injector, kd_url, people, webapi  # noqa: F401
