"""Pages beside the run list: the operations dashboard and the JSON that keeps progress bars live."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.cache import never_cache

from integrations import dashboard, review
from integrations.models import SyncRun
from portal.models import SensitiveField

MAX_POLLED = 100


def percent(done, total, running):
    if not total:
        return 0 if running else 100
    return min(100, round(100 * done / total))


def progress_text(done, total, running, status_label):
    counted = f"{done} / {total}" if total or running else ""
    return counted if running else " · ".join(filter(None, [status_label, counted]))


def live_progress(run):
    """A progress bar that progress.js keeps moving while the run runs (records done / known)."""
    running = run.status == SyncRun.Status.RUNNING
    return format_html(
        '<span class="sync-live" data-run="{}" data-url="{}" data-running="{}"><span class="sync-progress">'
        '<span style="width: {}%"></span></span> <span class="sync-progress-text">{}</span></span>',
        run.pk, reverse("admin:integrations_syncrun_progress"), int(running),
        percent(run.done, run.total, running),
        progress_text(run.done, run.total, running, run.get_status_display()),
    )


class RunPagesMixin:
    """Mixed into the SyncRun admin: /dashboard/ and /progress/ under its URL, for whoever may view runs."""

    class Media:
        css = {"all": ["integrations/ops.css"]}
        js = ["integrations/progress.js"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(self.dashboard_view), name="integrations_dashboard"),
            path("progress/", view(never_cache(self.progress_view)), name="integrations_syncrun_progress"),
            *super().get_urls(),
        ]

    def progress_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [int(value) for value in request.GET.getlist("id") if value.isdigit()][:MAX_POLLED]
        runs = {}
        for run in SyncRun.objects.filter(pk__in=ids).only("status", "done", "total", "succeeded_count",
                                                             "failed_count", "skipped_count"):
            running = run.status == SyncRun.Status.RUNNING
            runs[str(run.pk)] = {
                "status": run.status, "running": running, "done": run.done, "total": run.total,
                "percent": percent(run.done, run.total, running),
                "text": progress_text(run.done, run.total, running, run.get_status_display()),
                "counts": {"succeeded": run.succeeded_count, "failed": run.failed_count,
                           "skipped": run.skipped_count},
            }
        return JsonResponse({"runs": runs})

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        from integrations.admin import accounting
        from portal.views import worker_status

        days, boards = dashboard.build()
        cards = [{"board": board, "charts": board.charts(days), "last_status": last_status(board.scheme),
                  "reasons": reasons} for board, reasons in zip(boards, card_reasons(request.user, boards))]
        worker = worker_status()
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": _("Operations dashboard"),
            "cards": cards, "days": days, "worker": worker, "alerts": dashboard.recent_alerts(),
            "report_runs": dashboard.recent_report_runs(),
            "quotas": dashboard.quota_usages(),
            "period_waits": accounting.period_waits(),
            "org_drift": org_drift(),
            "beat_at": timezone.now() - timedelta(seconds=worker.get("last_beat_seconds_ago", 0)),
            "review_url": reverse("admin:integrations_reviewrecord_changelist"),
            "subtitle": gettext("last %(days)d days") % {"days": dashboard.DAYS},
        }
        return TemplateResponse(request, "admin/integrations/syncrun/dashboard.html", context)


def card_reasons(user, boards):
    """Each board's top reasons as [(short, whole, count)], masked for a reader who may not see sensitive values."""
    whole = review.masked_by_example(SensitiveField.masker_for(user),
                                     [(text, last) for board in boards for text, _count, last in board.reasons])
    texts, cards = iter(whole), []
    for board in boards:
        shown = [(next(texts), count) for _text, count, _last in board.reasons]
        cards.append([(review.short_reason(text, 100), text, count) for text, count in shown])
    return cards


def org_drift():
    from integrations.market import org

    return org.drift()


def last_status(scheme):
    return SyncRun.Status(scheme.last_run_status).label if scheme.last_run_status else ""
