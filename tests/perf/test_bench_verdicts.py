"""Each benchmark's verdict on given figures (no timing here: the numbers are made up), and the shared
PASS/FAIL plumbing: a FAIL exits non-zero, --no-targets only measures."""

import re
from io import StringIO

import pytest
from django.core.management.base import CommandError

from devtools.bench import BenchCommand, at_least, at_most
from devtools.management.commands import (bench_admin, bench_dingtalk_client, bench_events, bench_identity_import,
                                          bench_sso, bench_sync)


def verdicts(targets):
    return {target.name: target.passed for target in targets}


def test_a_target_passes_on_its_limit_and_fails_beyond_it_or_without_a_value():
    assert at_most("p95_ms", 300, 300).passed and not at_most("p95_ms", 300.1, 300).passed
    assert at_least("quota_use", 0.95, 0.95).passed and not at_least("quota_use", 0.94, 0.95).passed
    assert not at_most("p95_ms", None, 300).passed
    assert at_most("p95_ms", 12.5, 300).line() == "target p95_ms=12.5 <= 300 PASS"
    assert at_least("quota_use", 0.5, 0.95).line() == "target quota_use=0.5 >= 0.95 FAIL"


def test_a_failed_target_prints_every_line_and_exits_non_zero_unless_only_measuring():
    command = BenchCommand(stdout=StringIO())
    targets = [at_most("a", 1, 2), at_most("b", 3, 2)]
    with pytest.raises(CommandError, match="1 of 2 targets failed: b"):
        command.verdict(targets, {})
    load, *lines = command.stdout._out.getvalue().splitlines()
    assert lines == ["target a=1 <= 2 PASS", "target b=3 <= 2 FAIL"]
    assert re.fullmatch(r"load_average=[\d.]+,[\d.]+,[\d.]+ cpus=\d+", load), load

    quiet = BenchCommand(stdout=StringIO())
    quiet.verdict(targets, {"no_targets": True})
    assert quiet.stdout._out.getvalue().splitlines() == [load_line_of(quiet)]


def load_line_of(command):
    return command.stdout._out.getvalue().splitlines()[0]


def test_a_passing_set_of_targets_prints_the_load_and_each_pass_without_raising():
    command = BenchCommand(stdout=StringIO())
    command.verdict([at_most("a", 1, 2), at_least("b", 3, 2)], {})
    load, *lines = command.stdout._out.getvalue().splitlines()
    assert load.startswith("load_average=") and lines == ["target a=1 <= 2 PASS", "target b=3 >= 2 PASS"]


def page(p95, queries, queries_at_100):
    return {"p50": p95 / 2, "p95": p95, "cpu_ms": 10, "queries": queries, "queries_at_100": queries_at_100}


def test_bench_admin_wants_100_ms_up_to_100k_records_300_ms_at_a_million_and_constant_queries():
    fast = {"records": 100_000, "review_list": page(99, 8, 8), "dashboard": page(150, 12, 12)}
    assert verdicts(bench_admin.targets(fast)) == {"review_list_p95_ms": True, "review_list_query_growth": True,
                                                   "dashboard_p95_ms": False, "dashboard_query_growth": True}
    million = {"records": 1_000_000, "review_list": page(290, 8, 8), "dashboard": page(310, 13, 12)}
    assert verdicts(bench_admin.targets(million)) == {"review_list_p95_ms": True, "review_list_query_growth": True,
                                                      "dashboard_p95_ms": False, "dashboard_query_growth": False}


def test_bench_sso_wants_3_ms_of_cpu_and_a_50_ms_p99_with_every_login_landing():
    good = {"logins": 1000, "ok": 1000, "cpu_ms_per_login": 2.9, "server_p99_ms": 50}
    assert all(verdicts(bench_sso.targets(good)).values())
    bad = {**good, "ok": 999, "cpu_ms_per_login": 3.1}
    assert verdicts(bench_sso.targets(bad)) == {"portal_cpu_ms_per_login": False, "server_p99_ms": True,
                                                "failed_logins": False}


def test_bench_sync_judges_cpu_in_a_quota_in_b_the_naive_ratio_in_c_and_memory():
    setting = {"records": 100, "unbooked": 0, "duplicates": 0, "throttled": 0}
    results = {"a": {**setting, "cpu_ms_per_claim": 1.9}, "b": {**setting, "quota_use": 0.96, "throttled": 1},
               "c": setting, "naive_ratio": 29.9}
    assert verdicts(bench_sync.targets(results, memory_ratio=1.4)) == {
        "a_portal_cpu_ms_per_claim": True, "b_quota_use": True, "b_throttled": False, "c_naive_ratio": False,
        "peak_memory_5000_over_1000": True, "a_unbooked_or_duplicated": True, "b_unbooked_or_duplicated": True,
        "c_unbooked_or_duplicated": True}
    only_a = bench_sync.targets({"a": {**setting, "cpu_ms_per_claim": 2.5, "duplicates": 1}})
    assert verdicts(only_a) == {"a_portal_cpu_ms_per_claim": False, "a_unbooked_or_duplicated": False}


def test_bench_events_wants_a_2_s_p95_all_booked_and_nothing_throttled():
    assert all(verdicts(bench_events.targets({"p95_s": 2.0, "booked": 5700, "of": 5700, "throttled": 0})).values())
    assert verdicts(bench_events.targets({"p95_s": None, "booked": 0, "of": 10, "throttled": 2})) == {
        "p95_s": False, "unbooked": False, "throttled": False}


def test_bench_identity_import_wants_50000_rows_in_30_seconds_and_an_unchanged_reimport():
    assert all(verdicts(bench_identity_import.targets({"rows": 50000, "rows_per_s": 1700,
                                                       "reimport_unchanged": 50000})).values())
    assert verdicts(bench_identity_import.targets({"rows": 50000, "rows_per_s": 1600, "reimport_unchanged": 49999})) \
        == {"rows_per_s": False, "reimport_unchanged_share": False}


def test_bench_dingtalk_client_wants_95_percent_of_the_quota_without_a_throttled_call():
    figures = {"achieved_qps": 19.0, "throttled": 0, "client_throttled": 0}
    assert all(verdicts(bench_dingtalk_client.targets(figures, qps=20)).values())
    assert verdicts(bench_dingtalk_client.targets({**figures, "achieved_qps": 18.9, "client_throttled": 1}, 20)) == {
        "quota_use": False, "throttled": False}


def test_bench_org_wants_a_call_per_100_employees_no_write_no_throttle_and_events_within_5_s():
    from devtools.management.commands import bench_org

    good = {"dingtalk_calls": 50, "kingdee_writes": 0, "throttled": 0, "event_p95_s": 5.0, "event_changes": 50,
            "event_arrived": 50, "initial_failed": 0}
    assert all(verdicts(bench_org.targets(good, employees=5000)).values())
    bad = {**good, "dingtalk_calls": 51, "event_arrived": 49}
    assert verdicts(bench_org.targets(bad, employees=5000)) == {
        "comparison_dingtalk_calls_per_100": False, "comparison_kingdee_writes": True, "throttled": True,
        "event_p95_s": True, "changes_not_arrived": False, "initial_failed": True}


def test_bench_lookup_wants_a_500_ms_p95():
    from devtools.management.commands import bench_lookup

    assert verdicts(bench_lookup.targets({"p95_ms": 500})) == {"p95_ms": True}
    assert verdicts(bench_lookup.targets({"p95_ms": 501})) == {"p95_ms": False}
