"""Who a DingTalk user is in Kingdee: the one look-up other apps may use (integrations' `identity` transform)."""

from django.db.models import F, Q, Subquery

from sso.models import IdentityMap, only_dingtalk_organisation


def kingdee_identity(dingtalk_userid, connection=None, former=False):
    """The active mapping of a DingTalk userid in the organisation of `connection` (a DingTalk Connection or its
    id; by default the only DingTalk connection) as {"username", "staff_number", "name"}, or None. With `former`,
    a disabled row counts too (a leaver's: the org sync disables it), the latest changed first."""
    connection = connection or only_dingtalk_organisation()
    if connection is None:
        return None
    rows = IdentityMap.objects.of(connection).filter(dingtalk_userid=dingtalk_userid)
    row = (
        (rows if former else rows.filter(active=True))
        .order_by("-active", F("dingtalk").asc(nulls_last=True), "-updated_at")
        .values("kingdee_username", "kingdee_staff_number", "name")
        .first()
    )
    if row is None:
        return None
    return {"username": row["kingdee_username"], "staff_number": row["kingdee_staff_number"], "name": row["name"]}


def dingtalk_userid_of_staff(staff_number):
    """The DingTalk userid of the active mapping with this Kingdee staff number, or "" (a material's buyer)."""
    if not staff_number:
        return ""
    row = IdentityMap.objects.filter(kingdee_staff_number=staff_number, active=True).values("dingtalk_userid").first()
    return row["dingtalk_userid"] if row else ""


def name_of(userid, connection=None):
    """The mapped person's name for a DingTalk userid expression (e.g. `OuterRef("originator")`), as a
    subquery: list pages annotate their rows with it instead of looking each row up. `connection` (a value or an
    expression such as `OuterRef("scheme__source_connection")`) narrows it to one organisation."""
    rows = IdentityMap.objects.filter(dingtalk_userid=userid)
    if connection is not None:
        rows = rows.filter(Q(dingtalk=connection) | Q(dingtalk__isnull=True))
        rows = rows.order_by(F("dingtalk").asc(nulls_last=True))
    return Subquery(rows.values("name")[:1])


def seed_demo_identities(people, unmapped=4, connection=None):
    """Demo only: map the roster's employees (objects with userid, unionid, name, mobile, kingdee_username and
    staff_number), except the last `unmapped`, so that refused logins and unmapped claims can be seen.
    Idempotent; returns (mapped, left unmapped)."""
    people = list(people)
    keep = people[: max(0, len(people) - unmapped)]
    connection = connection or only_dingtalk_organisation()
    for person in keep:
        IdentityMap.objects.update_or_create(dingtalk=connection, dingtalk_userid=person.userid, defaults={
            "dingtalk_unionid": person.unionid, "name": person.name, "mobile": person.mobile,
            "kingdee_username": person.kingdee_username, "kingdee_staff_number": person.staff_number,
            "active": True,
        })
    IdentityMap.objects.filter(dingtalk_userid__in=[person.userid for person in people[len(keep):]]).delete()
    return len(keep), len(people) - len(keep)


def join(dingtalk_userid, *, staff_number, name="", unionid="", mobile="", kingdee_username="", connection=None):
    """A joiner's identity row (org sync) in the organisation of `connection` (the DingTalk Connection or its id
    the person came from; by default the only one): created, or made active again pointing at their staff
    number. A Kingdee user name a person set by hand is kept. Returns the row's id."""
    connection = _organisation(connection)
    row = (IdentityMap.objects.of(connection).filter(dingtalk_userid=dingtalk_userid)
           .order_by(F("dingtalk").asc(nulls_last=True)).first()) if connection is not None else (
        IdentityMap.objects.filter(dingtalk_userid=dingtalk_userid, dingtalk__isnull=True).first())
    if row is None:
        row = IdentityMap.objects.create(
            dingtalk_id=getattr(connection, "pk", connection), dingtalk_userid=dingtalk_userid,
            kingdee_staff_number=staff_number, name=name, dingtalk_unionid=unionid, mobile=mobile,
            kingdee_username=kingdee_username, active=True)
        return row.pk
    row.kingdee_staff_number, row.active = staff_number, True
    row.name, row.mobile = name or row.name, mobile or row.mobile
    row.kingdee_username = row.kingdee_username or kingdee_username
    row.save()
    return row.pk


def set_active(dingtalk_userids, active, connection=None):
    """Disable (a leaver: single sign-on refuses them at once) or enable identity rows of the organisation of
    `connection` (by default the only one); returns how many."""
    connection = _organisation(connection)
    rows = IdentityMap.objects.of(connection) if connection is not None else IdentityMap.objects.filter(
        dingtalk__isnull=True)
    return rows.filter(dingtalk_userid__in=list(dingtalk_userids)).exclude(active=active).update(active=active)


def _organisation(connection):
    """The DingTalk organisation rows belong to: the given connection (or id), else the only one, else None."""
    return connection if connection not in (None, "") else only_dingtalk_organisation()
