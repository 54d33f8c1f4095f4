import pytest

from integrations import engine
from integrations.customers import proposals
from integrations.models import SyncRecord
from sandbox.dingtalk.models import CrmCustomer
from sandbox.kingdee.models import FormRecord

pytestmark = pytest.mark.django_db(transaction=True)


def dump(scheme, run):
    print(run.status, run.error, run.stats.get("twoway"))
    for r in SyncRecord.objects.filter(scheme=scheme):
        print(r.source_key, r.target_number, r.status, r.reason_code, r.reason_params)


def test_smoke(world):
    seller = world.sellers[0][0]
    world.crm("create", data={"customer_name": "杭州一号科技有限公司", "credit_code": "91330100MA2X000001",
                              "phone": "0571-1", "address": "杭州", "customer_type": "普通客户"}, owner=seller)
    scheme = world.scheme()
    dump(scheme, engine.run_scheme(scheme.pk))
    proposals.approve(scheme, None, user=None)
    dump(scheme, engine.run_scheme(scheme.pk))
    dump(scheme, engine.run_scheme(scheme.pk))
    print(FormRecord.objects.filter(form_id="BD_Customer").count(), CrmCustomer.objects.count())
