"""Never twice, across schemes: two schemes on one approval template book each claim once in the sandbox Kingdee."""

import pytest

from integrations import engine, scheme_file
from integrations.models import SyncRecord
from tests.integrations.live import bill_counts, build_world, faultless, sandbox_faults, shape_claims

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url) as url:
        yield url


def renamed_copy(scheme, name):
    """What a new user did: export the scheme, rename it in the file, import it."""
    data = scheme_file.export(scheme)
    data["settings"]["name"] = name
    return scheme_file.load(data).scheme


def kingdee_calls(*runs):
    return sum(sum(run.stats["calls"]["target"].values()) for run in runs)


def test_a_renamed_copy_of_a_scheme_adopts_the_bills_instead_of_booking_them_again(base_url):
    scheme = build_world(base_url, instances=160)
    approved = {i.process_instance_id for i in shape_claims(approved=100, refused=5, running=5)["approved"]}
    scheme.batch_size = 100
    scheme.save()
    copy = renamed_copy(scheme, "费用报销（副本）")

    first = engine.run_scheme(scheme.pk)
    second = engine.run_scheme(copy.pk)

    counts = bill_counts(base_url)
    assert set(counts) == approved and set(counts.values()) == {1}
    adopted = SyncRecord.objects.filter(scheme=copy, status=Status.SUCCEEDED)
    assert {record.source_key for record in adopted} == approved
    assert {record.booked_via for record in adopted} == {SyncRecord.Via.RECONCILED}
    assert second.adopted_count == len(approved) and second.succeeded_count == len(approved)
    assert kingdee_calls(first, second) / len(counts) <= 0.05


@pytest.mark.parametrize("target_requests", [4, 16], ids=["one writer", "four writers side by side"])
def test_two_schemes_on_one_template_under_faults_still_book_each_claim_once(base_url, target_requests):
    scheme = build_world(base_url, instances=160)
    approved = {i.process_instance_id for i in shape_claims(approved=80)["approved"]}
    scheme.batch_size = 20 if target_requests == 4 else 5
    scheme.save()
    copy = renamed_copy(scheme, "费用报销（副本）")
    for connection in (scheme.target_connection,):
        connection.read_timeout = 0.5
        connection.max_concurrency = target_requests  # 16: the engine writes four batches at once
        connection.save()
    sandbox_faults(base_url, "kingdee", seed=7, timeout_rate=0.3, timeout_seconds=1, server_error_rate=0.1,
                   session_loss_rate=0.1)
    sandbox_faults(base_url, "dingtalk", seed=7, server_error_rate=0.1)

    for _round in range(3):
        engine.run_scheme(scheme.pk)
        engine.run_scheme(copy.pk)
    sandbox_faults(base_url, "kingdee")
    sandbox_faults(base_url, "dingtalk")
    engine.run_scheme(copy.pk)
    engine.run_scheme(scheme.pk)

    counts = bill_counts(base_url)
    assert set(counts) == approved and set(counts.values()) == {1}
    for each in (scheme, copy):
        assert set(SyncRecord.objects.filter(scheme=each).values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_the_dry_run_of_an_import_warns_when_another_enabled_scheme_reads_the_same_source_into_the_same_form(
        base_url):
    scheme = build_world(base_url, instances=10)
    data = scheme_file.export(scheme)
    data["settings"]["name"] = "费用报销（副本）"

    plan = scheme_file.load(data, dry_run=True)

    assert plan.scheme is None and len(plan.warnings) == 1 and scheme.name in plan.warnings[0]
    data["settings"]["target_params"] = {**data["settings"]["target_params"], "form_id": "GL_VOUCHER"}
    assert scheme_file.load(data, dry_run=True).warnings == []
