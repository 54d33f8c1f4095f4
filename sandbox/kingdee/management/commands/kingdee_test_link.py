import base64
import json
import time
from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from integrations import protocol
from sandbox.kingdee.models import DataCentre, KingdeeUser, ThirdPartyApp


class Command(BaseCommand):
    help = (
        "Print a signed SSO link for a sandbox Kingdee user, as Kingdee's 生成测试链接 button does. "
        "Run it after sandbox_seed to try the html5/index.aspx landing by hand."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="Kingdee user name (SEC_User), e.g. demo")
        parser.add_argument("--app", default="钉钉单点登录", help="name or app id of the third-party login app")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000/sandbox/kingdee/",
                            help="the sandbox Kingdee server URL")
        parser.add_argument("--formid", default="", help="form to open after login, e.g. AP_PAYBILL")
        parser.add_argument("--formtype", default="", help="bill, list …")

    def handle(self, *args, **options):
        app = ThirdPartyApp.objects.filter(Q(name=options["app"]) | Q(app_id=options["app"])).first()
        centre = DataCentre.objects.first()
        if app is None or centre is None:
            raise CommandError("No such third-party login app or no data centre: run sandbox_seed first.")
        if not KingdeeUser.objects.filter(username=options["username"]).exists():
            raise CommandError(f"No Kingdee user named {options['username']!r}.")
        base = options["base_url"] if options["base_url"].endswith("/") else options["base_url"] + "/"
        ud = self.ud(centre, app, options)
        self.stdout.write(f"{base}html5/index.aspx?ud={quote(ud, safe='')}")

    @staticmethod
    def ud(centre, app, options):
        timestamp = str(int(time.time()))
        signed = protocol.kingdee_signeddata(centre.acct_id, options["username"], app.app_id, app.app_secret,
                                             timestamp, app.algorithm)
        permit = "1" if app.link_mode == ThirdPartyApp.LinkMode.SINGLE_USE else "0"
        args = {"dbid": centre.acct_id, "username": options["username"], "appid": app.app_id, "signeddata": signed,
                "timestamp": timestamp, "lcid": "2052", "origintype": "SimPas", "entryrole": "",
                "formid": options["formid"], "formtype": options["formtype"], "pkid": "",
                "otherargs": f"|{{'permitcount':'{permit}'}}", "openmode": None}
        return base64.b64encode(json.dumps(args, ensure_ascii=False).encode("utf-8")).decode()
