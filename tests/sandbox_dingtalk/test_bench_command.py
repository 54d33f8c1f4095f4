import re
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_benchmark_serves_the_sandbox_itself_and_reports_one_line(seeded):
    out = StringIO()
    call_command("bench_dingtalk_client", seconds=1.5, threads=4, qps=20, stdout=out)
    line = out.getvalue().strip()
    figures = dict(re.findall(r"(\w+)=([\d.]+)", line))
    assert set(figures) >= {"achieved_qps", "calls", "throttled", "max_in_1s"}
    assert figures["throttled"] == "0" and int(figures["max_in_1s"]) <= 20 and float(figures["achieved_qps"]) > 10
