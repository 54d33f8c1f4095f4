"""`/sandbox/dingtalk/` stands for both https://oapi.dingtalk.com/ and https://api.dingtalk.com/."""

from django.urls import path

from sandbox.dingtalk import accounting
from sandbox.dingtalk.views import (
    approvals, attendance, contacts, control, crm, messaging, org_door, sso, stream, tokens, yida,
)

app_name = "sandbox_dingtalk"

urlpatterns = [
    # tokens
    path("gettoken", tokens.gettoken, name="gettoken"),
    path("v1.0/oauth2/accessToken", tokens.access_token, name="access_token"),
    # approvals
    path("v1.0/workflow/processes/instanceIds/query", approvals.instance_ids_query, name="instance_ids_query"),
    path("v1.0/workflow/processInstances", approvals.process_instance, name="process_instance"),
    path("v1.0/workflow/processInstances/comments", approvals.comments, name="comments"),
    path("v1.0/workflow/processInstances/spaces/files/urls/download", accounting.download_url, name="file_url"),
    path("_files/<str:file_id>/<str:size>", accounting.download, name="file"),
    path("v1.0/workflow/forms/schemas/processCodes", approvals.form_schema, name="form_schema"),
    path("topapi/processinstance/listids", approvals.listids, name="listids"),
    path("topapi/processinstance/get", approvals.processinstance_get, name="processinstance_get"),
    path("topapi/processinstance/create", approvals.processinstance_create, name="processinstance_create"),
    # contacts
    path("topapi/v2/department/listsub", contacts.department_listsub, name="department_listsub"),
    path("topapi/v2/department/listsubid", contacts.department_listsubid, name="department_listsubid"),
    path("topapi/v2/department/get", contacts.department_get, name="department_get"),
    path("topapi/v2/user/list", contacts.user_list, name="user_list"),
    path("topapi/user/listsimple", contacts.user_listsimple, name="user_listsimple"),
    path("topapi/user/listid", contacts.user_listid, name="user_listid"),
    path("topapi/v2/user/get", contacts.user_get, name="user_get"),
    path("topapi/user/getbyunionid", contacts.user_getbyunionid, name="user_getbyunionid"),
    path("topapi/v2/user/getbymobile", contacts.user_getbymobile, name="user_getbymobile"),
    path("v1.0/contact/empLeaveRecords", contacts.emp_leave_records, name="emp_leave_records"),
    # CRM customers (round 2 §6)
    path("v1.0/crm/customerInstances", crm.customer_instances, name="crm_customer_instances"),
    path("v1.0/crm/customers", crm.customers, name="crm_customers"),
    path("v1.0/crm/relationDatas/batch", crm.relation_datas_batch, name="crm_relation_datas_batch"),
    # login
    path("topapi/v2/user/getuserinfo", sso.getuserinfo, name="getuserinfo"),
    path("v1.0/oauth2/userAccessToken", sso.user_access_token, name="user_access_token"),
    path("v1.0/contact/users/me", sso.users_me, name="users_me"),
    path("oauth2/auth", sso.oauth2_auth, name="oauth2_auth"),
    path("sso/authcode", sso.authcode, name="authcode"),
    path("client/", sso.client, name="client"),
    path("client/dd.js", sso.dd_js, name="dd_js"),
    # messaging
    path("topapi/message/corpconversation/asyncsend_v2", messaging.asyncsend_v2, name="asyncsend_v2"),
    path("topapi/message/corpconversation/getsendresult", messaging.getsendresult, name="getsendresult"),
    path("robot/send", messaging.robot_send, name="robot_send"),
    # events: Stream mode registration (the websocket itself is served by `manage.py sandbox_stream`)
    path("v1.0/gateway/connections/open", stream.connections_open, name="connections_open"),
    # sandbox controls
    path("_faults", control.faults, name="faults"),
    path("_calls", control.calls, name="calls"),
    path("_approvals/<str:instance_id>", control.decide, name="decide"),
    path("_events", control.events, name="events"),
    path("_messages", control.messages, name="messages"),
    path("_contacts", org_door.contacts, name="contacts_door"),
    path("_crm", crm.door, name="crm_door"),
    # Yida (宜搭) and attendance
    path("v1.0/yida/forms/instances/search", yida.search, name="yida_search"),
    path("v1.0/yida/forms/instances/advances/queryAll", yida.advanced_search, name="yida_advanced_search"),
    path("v1.0/yida/forms/instances/ids/<str:app_type>/<str:form_uuid>", yida.id_list, name="yida_id_list"),
    path("v1.0/yida/forms/instances/<str:instance_id>", yida.instance, name="yida_instance"),
    path("v1.0/yida/forms/innerTables/<str:instance_id>", yida.inner_table, name="yida_inner_table"),
    path("v1.0/yida/forms/definitions/<str:app_type>/<str:form_uuid>", yida.definitions, name="yida_definitions"),
    path("v1.0/yida/processes/instances", yida.processes, name="yida_processes"),
    path("v1.0/yida/processes/instancesInfos/<str:instance_id>", yida.process, name="yida_process"),
    path("_yida", yida.door, name="yida_door"),
    path("topapi/attendance/getattcolumns", attendance.getattcolumns, name="getattcolumns"),
    path("topapi/attendance/getcolumnval", attendance.getcolumnval, name="getcolumnval"),
    path("topapi/attendance/getleavetimebynames", attendance.getleavetimebynames, name="getleavetimebynames"),
    path("v1.0/attendance/columnValues/query", attendance.column_values, name="attendance_column_values"),
    path("_attendance", attendance.door, name="attendance_door"),
]
