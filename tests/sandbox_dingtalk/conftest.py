from tests.sandbox_dingtalk.helpers import seeded  # noqa: F401
