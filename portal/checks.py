"""Deployment checks of what `collectstatic` must have found: `manage.py check --deploy` fails without them."""

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, Tags, register
from django.core.files.storage import storages

DINGTALK_BUNDLE = "sso/vendor/dingtalk-jsapi.js"


@register(Tags.staticfiles, deploy=True)
def dingtalk_bundle_check(app_configs, **kwargs):
    """The SSO page inside DingTalk loads dingtalk-jsapi from our own static files, never from a CDN."""
    if finders.find(DINGTALK_BUNDLE) is None:
        return [Error(
            f"The dingtalk-jsapi bundle ({DINGTALK_BUNDLE}) is missing: the SSO page inside DingTalk cannot load.",
            hint="Build it with `make bundle` (needs Node.js and npm), then run `manage.py collectstatic` again.",
            id="portal.E010",
        )]
    storage = storages["staticfiles"]
    if isinstance(storage, ManifestFilesMixin) and storage.hashed_files and DINGTALK_BUNDLE not in storage.hashed_files:
        return [Error(
            "collectstatic ran before the dingtalk-jsapi bundle was built: the SSO page cannot find it.",
            hint="Run `manage.py collectstatic --noinput` again.",
            id="portal.E011",
        )]
    return []
