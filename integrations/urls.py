from django.urls import path

from integrations import views
from integrations.customers import views as customers
from integrations.reports import views as reports

app_name = "integrations"

urlpatterns = [
    path("dingtalk/callback/<int:connection_id>/", views.dingtalk_callback, name="dingtalk_callback"),
    path("reports/table/<str:token>/", reports.table, name="report_table"),
    *[path(route, view, name=name) for route, view, name in customers.urls],
]
