from django.core.management import call_command
from django.core.management.base import CommandError

import pytest


def parse(line):
    return dict(part.split("=", 1) for part in line.split())


def test_bench_sync_prints_one_line_per_setting_and_the_naive_ratio(capsys, settings, tmp_path):
    call_command("bench_sync", records=24, batch_size=10, database_url=f"sqlite:///{tmp_path / 'bench.sqlite3'}")

    lines = capsys.readouterr().out.strip().splitlines()
    results = {parse(line)["setting"]: parse(line) for line in lines if line.startswith("setting=")}
    assert list(results) == ["a", "b", "c", "c-naive"] and lines[-1].startswith("naive_ratio=")
    for name, result in results.items():
        assert int(result["records"]) == 24 and int(result["bills"]) == 24 and result["duplicates"] == "0", name
        assert float(result["dingtalk_calls_per_bill"]) > 0 and float(result["records_per_s"]) > 0
        assert {"p50_ms", "p95_ms", "kingdee_calls_per_bill", "throttled"} <= set(result)
    assert float(results["a"]["kingdee_calls_per_bill"]) <= 0.2  # 3 batches of 10 for 24 bills
    assert float(results["c-naive"]["kingdee_calls_per_bill"]) == 1.0
    assert float(lines[-1].split("=")[1]) > 1


def test_bench_sync_refuses_nonsense(db):
    with pytest.raises(CommandError):
        call_command("bench_sync", records=0)
