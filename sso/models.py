from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentityMap(models.Model):
    """Who is who: a DingTalk user and the Kingdee user and staff number they act as."""

    dingtalk_userid = models.CharField(_("DingTalk user id"), max_length=64, unique=True)
    dingtalk_unionid = models.CharField(_("DingTalk union id"), max_length=64, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, db_index=True)
    kingdee_username = models.CharField(_("Kingdee user name"), max_length=100, blank=True)
    kingdee_staff_number = models.CharField(_("Kingdee staff number"), max_length=50, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("identity mapping")
        verbose_name_plural = _("identity map")
        ordering = ["dingtalk_userid"]

    def __str__(self):
        return f"{self.name or self.dingtalk_userid} → {self.kingdee_username or self.kingdee_staff_number}"
