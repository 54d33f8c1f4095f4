"""IT browses the sandbox Kingdee in the admin: bills with their JSON, base data, users, apps, landings, faults."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from sandbox.kingdee.models import FormRecord, KingdeeFaults
from tests.sandbox_kingdee.payloads import paybill

pytestmark = pytest.mark.django_db
PAGES = ["bill", "basedata", "kingdeeuser", "thirdpartyapp", "kingdeesession", "ssolanding", "kingdeefaults",
         "datacentre"]


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("it", "it@example.com", "x"))
    return client


@pytest.mark.parametrize("page", PAGES)
def test_every_sandbox_page_lists(admin_client, creds, page):
    assert admin_client.get(reverse(f"admin:sandbox_kingdee_{page}_changelist")).status_code == 200


def test_a_bill_shows_its_model_as_formatted_json_and_base_data_stays_apart(admin_client, api, people):
    number = api.save(paybill(people[0], "ADMIN-1"))["Result"]["Number"]
    bill = FormRecord.objects.get(number=number)

    page = admin_client.get(reverse("admin:sandbox_kingdee_bill_change", args=[bill.pk])).content.decode()

    assert "&quot;FTHIRDBILLNO&quot;: &quot;ADMIN-1&quot;" in page
    bills = admin_client.get(reverse("admin:sandbox_kingdee_bill_changelist")).content.decode()
    assert number in bills and people[0].job_number not in bills


def test_saving_fault_settings_in_the_admin_takes_effect(admin_client, creds):
    settings = KingdeeFaults.current()
    url = reverse("admin:sandbox_kingdee_kingdeefaults_change", args=[settings.pk])
    form = {"seed": 5, "latency_ms": 0, "qps_limit": 0, "session_loss_every": 4, "session_loss_rate": 0,
            "throttle_rate": 0, "unavailable_rate": 0, "server_error_rate": 0, "item_error_rate": 0.25,
            "timeout_rate": 0, "timeout_seconds": 10}

    assert admin_client.post(url, form).status_code == 302
    assert (KingdeeFaults.current().session_loss_every, KingdeeFaults.current().item_error_rate) == (4, 0.25)
