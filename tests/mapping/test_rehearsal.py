"""Test and production Kingdee data centres: a scheme rehearses on the test one until IT switches it."""

import pytest
from django.urls import reverse

from integrations import engine
from integrations.clients import client_for
from integrations.models import Connection, DataCentre, Scheme, SyncRun
from sandbox.kingdee.models import DataCentre as SandboxDataCentre
from tests.integrations.fakes import claim
from tests.integrations.live import bill_counts
from tests.integrations.test_engine import recent


def test_a_new_scheme_rehearses_on_the_test_data_centre_until_it_is_switched(scheme, kingdee_connection):
    kingdee_connection.test_acct_id = "acct-test"
    kingdee_connection.save()
    scheme = Scheme.objects.get(pk=scheme.pk)
    assert scheme.rehearsal and scheme.data_centre == DataCentre.TEST
    assert client_for(scheme.target_connection).acct_id == "acct-test"
    scheme.rehearsal = False
    scheme.save()
    scheme = Scheme.objects.get(pk=scheme.pk)
    assert scheme.data_centre == DataCentre.PRODUCTION and client_for(scheme.target_connection).acct_id == "acct"


def test_without_a_test_data_centre_a_scheme_writes_to_production(scheme):
    assert scheme.rehearsal and scheme.data_centre == DataCentre.PRODUCTION
    assert client_for(Connection.objects.get(pk=scheme.target_connection_id)).acct_id == "acct"


def test_each_run_records_its_data_centre_and_the_dashboard_says_so(scheme, kingdee_connection, remote,
                                                                    admin_client):
    kingdee_connection.test_acct_id = "acct-test"
    kingdee_connection.save()
    remote.dingtalk.add(claim("a", created=recent(2)))
    engine.run_scheme(scheme.pk)
    run = SyncRun.objects.get(scheme=scheme)
    assert run.data_centre == DataCentre.TEST
    page = admin_client.get(reverse("admin:integrations_dashboard")).content.decode()
    assert "演练（测试账套）" in page
    runs = admin_client.get(reverse("admin:integrations_syncrun_changelist")).content.decode()
    assert "测试账套（演练）" in runs


@pytest.mark.django_db(transaction=True)
def test_rehearsal_runs_reach_the_sandboxs_test_data_centre_and_production_after_the_switch(world, live_server):
    kingdee = world.target_connection
    kingdee.test_acct_id = "0000000000test"  # not yet a data centre of the sandbox: it refuses the session
    kingdee.save()
    world.rehearsal = True
    world.save()
    refused = engine.run_scheme(world.pk)
    assert not refused.succeeded_count and refused.data_centre == DataCentre.TEST
    assert not bill_counts(live_server.url)
    SandboxDataCentre.objects.create(acct_id="0000000000test", name="测试账套")
    rehearsed = engine.run_scheme(world.pk)
    assert rehearsed.succeeded_count and rehearsed.data_centre == DataCentre.TEST and bill_counts(live_server.url)
    world.rehearsal = False
    world.save()
    assert engine.run_scheme(world.pk).data_centre == DataCentre.PRODUCTION
