"""Settings of the qcluster processes the end-to-end tests start: the portal's, with a short run lease."""

import os

from portal.settings import *  # noqa: F403

SYNC_LEASE_SECONDS = int(os.environ.get("SYNC_LEASE_SECONDS", "6"))
SYNC_OUTCOME_HORIZON_SECONDS = int(os.environ.get("SYNC_OUTCOME_HORIZON_SECONDS", "0"))
Q_CLUSTER = {**Q_CLUSTER, "workers": int(os.environ.get("Q_WORKERS", "1")), "name": "portal"}  # noqa: F405
# Tests re-seed instances under the same ids: workers remember no finished instance unless a test asks them to.
DINGTALK_DETAIL_MEMO_SECONDS = int(os.environ.get("DINGTALK_DETAIL_MEMO_SECONDS", "0"))
