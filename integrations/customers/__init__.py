"""Customer master data both ways: DingTalk CRM customers ⇄ Kingdee BD_Customer (the market's 客户档案双向同步).

- `create_customer_scheme(...)`: the scheme from the template, with the CRM operator and the Kingdee organisation.
- `rules`: the master rule per field as a signed decision (who decided, when; history; versioned with the scheme).
- `proposals`: the first matching's customers found on one side only, approved by a person before they are
  created on the other side.
- `views`: the decision table, the printable 对接方案确认书, the approval page.

The run itself is the engine's (`integrations.engine.twoway.TwoWayBooking`); the remotes are spoken to by
`integrations.adapters.crm`.
"""

from django.db import transaction

from integrations.market import create_scheme
from integrations.models import Scheme

SLUG = "dingtalk-crm-kingdee-customers"
ORG_ROWS = ("FCreateOrgId", "FUseOrgId")


@transaction.atomic
def create_customer_scheme(*, source_connection, target_connection, operator_userid, org_number="100", name=None,
                           interval_minutes=5):
    """The two-way customers scheme from the template, for these connections."""
    scheme = create_scheme(SLUG, source_connection=source_connection, target_connection=target_connection,
                           name=name, schedule_kind=Scheme.ScheduleKind.INTERVAL, interval_minutes=interval_minutes)
    scheme.source_params = {**scheme.source_params, "operator_userid": operator_userid}
    scheme.full_clean()
    scheme.save()
    for row in scheme.mappings.filter(target__in=ORG_ROWS):
        row.params = {**row.params, "value": org_number}
        row.save()
    return scheme


def is_customer_scheme(scheme):
    return scheme is not None and scheme.target_kind == "kingdee.customer"
