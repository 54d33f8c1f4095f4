from django.urls import path

from sso import views

app_name = "sso"
urlpatterns = [
    path("dingtalk/", views.dingtalk_page, name="dingtalk"),
    path("dingtalk/login", views.dingtalk_login, name="dingtalk_login"),
    path("dingtalk/oauth/", views.oauth_start, name="oauth_start"),
    path("dingtalk/oauth/callback", views.oauth_callback, name="oauth_callback"),
]
