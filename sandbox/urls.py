from django.urls import include, path

urlpatterns = [
    path("dingtalk/", include("sandbox.dingtalk.urls")),
    path("kingdee/", include("sandbox.kingdee.urls")),
]
