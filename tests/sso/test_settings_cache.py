"""SSO settings are read once per process and stay fresh: a change made here is seen at once, a change made by
another process within a second (it stamps a new version in the shared cache)."""

import pytest
from django.core.cache import cache
from django.db.models.signals import post_save

from sso import login
from sso.models import KingdeeSSOSettings

pytestmark = pytest.mark.django_db


def test_a_login_reads_the_settings_once_and_then_costs_no_query(sso_settings, django_assert_num_queries):
    assert login.settings_for("dingcorp0001") == sso_settings
    with django_assert_num_queries(0):
        assert login.settings_for("dingcorp0001") == sso_settings
        assert login.settings_for("dingcorp0001", pk=sso_settings.pk) == sso_settings
        assert login.settings_for("othercorp") is None


def test_saving_the_settings_here_takes_effect_at_the_next_login(sso_settings, django_capture_on_commit_callbacks):
    login.settings_for("dingcorp0001")
    with django_capture_on_commit_callbacks(execute=True):
        sso_settings.enabled = False
        sso_settings.save()
    assert login.settings_for("dingcorp0001") is None


def test_a_change_by_another_process_is_seen_once_its_version_stamp_is_checked(sso_settings, monkeypatch):
    login.settings_for("dingcorp0001")
    with monkeypatch.context() as quiet:  # another process: no signal reaches this one
        quiet.setattr(post_save, "send", lambda *args, **kwargs: [])
        KingdeeSSOSettings.objects.filter(pk=sso_settings.pk).update(enabled=False)
        sso_settings.dingtalk.save()
    cache.set(login.VERSION_KEY, "stamped-by-another-process")
    assert login.settings_for("dingcorp0001") == sso_settings  # within the second: this process's copy

    monkeypatch.setattr(login, "RECHECK_SECONDS", 0)
    assert login.settings_for("dingcorp0001") is None
