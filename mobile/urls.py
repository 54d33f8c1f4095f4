from django.urls import path

from mobile import views

app_name = "mobile"
urlpatterns = [
    path("inventory/", views.inventory, name="inventory"),
    path("inventory/login", views.code_login, name="login"),
    path("inventory/oauth/", views.oauth_start, name="oauth_start"),
    path("inventory/oauth/callback", views.oauth_callback, name="oauth_callback"),
]
