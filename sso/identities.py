"""Who a DingTalk user is in Kingdee: the one look-up other apps may use (integrations' `identity` transform)."""

from django.db.models import Subquery

from sso.models import IdentityMap


def kingdee_identity(dingtalk_userid):
    """The active mapping of a DingTalk userid as {"username", "staff_number", "name"}, or None."""
    row = (
        IdentityMap.objects.filter(dingtalk_userid=dingtalk_userid, active=True)
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


def name_of(userid):
    """The mapped person's name for a DingTalk userid expression (e.g. `OuterRef("originator")`), as a
    subquery: list pages annotate their rows with it instead of looking each row up."""
    return Subquery(IdentityMap.objects.filter(dingtalk_userid=userid).values("name")[:1])


def seed_demo_identities(people, unmapped=4):
    """Demo only: map the roster's employees (objects with userid, unionid, name, mobile, kingdee_username and
    staff_number), except the last `unmapped`, so that refused logins and unmapped claims can be seen.
    Idempotent; returns (mapped, left unmapped)."""
    people = list(people)
    keep = people[: max(0, len(people) - unmapped)]
    for person in keep:
        IdentityMap.objects.update_or_create(dingtalk_userid=person.userid, defaults={
            "dingtalk_unionid": person.unionid, "name": person.name, "mobile": person.mobile,
            "kingdee_username": person.kingdee_username, "kingdee_staff_number": person.staff_number,
            "active": True,
        })
    IdentityMap.objects.filter(dingtalk_userid__in=[person.userid for person in people[len(keep):]]).delete()
    return len(keep), len(people) - len(keep)
