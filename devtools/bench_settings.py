"""Settings of the processes a benchmark starts: the portal's own with the sandbox on, but without debugging
(no query log growing with every query, no template debug information), as a production portal runs."""

from portal.settings import *  # noqa: F403

DEBUG = False
