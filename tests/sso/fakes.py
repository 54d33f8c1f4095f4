"""A DingTalk that answers like the real one, in-process, for view tests that need no sandbox."""

import secrets

from integrations.clients.errors import BusinessError


class FakeDingTalk:
    def __init__(self, corp_id):
        self.corp_id = corp_id
        self.people = {}  # userid -> {"userid", "unionid", "name"}
        self.codes = {}  # code -> userid, single use
        self.tokens = {}  # user access token -> userid

    def add(self, userid, name):
        self.people[userid] = {"userid": userid, "unionid": f"union-{userid}", "name": name}

    def code_for(self, userid):
        code = secrets.token_hex(8)
        self.codes[code] = userid
        return code

    def _redeem(self, code):
        userid = self.codes.pop(code, None)
        if userid is None:
            raise BusinessError("不存在的临时授权码", code=40078, system="DingTalk")
        return self.people[userid]

    def get_userinfo_by_code(self, code):
        return dict(self._redeem(code), sys=False, sys_level=0)

    def user_access_token(self, code):
        person = self._redeem(code)
        token = secrets.token_hex(8)
        self.tokens[token] = person["userid"]
        return {"accessToken": token, "refreshToken": "r", "expireIn": 7200, "corpId": self.corp_id}

    def current_user(self, token):
        person = self.people[self.tokens[token]]
        return {"nick": person["name"], "unionId": person["unionid"], "mobile": "", "openId": "o"}

    def userid_by_unionid(self, unionid):
        for person in self.people.values():
            if person["unionid"] == unionid:
                return person["userid"]
        raise BusinessError("找不到该用户", code=60121, system="DingTalk")
