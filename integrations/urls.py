from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("dingtalk/callback/<int:connection_id>/", views.dingtalk_callback, name="dingtalk_callback"),
]
