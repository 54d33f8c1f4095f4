def test_admin_speaks_chinese_by_default_and_english_on_request(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "钉钉⇄金蝶集成门户" in page and 'id="language-switch"' in page
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    page = admin_client.get("/admin/").content.decode()
    assert "DingTalk ⇄ Kingdee Integration Portal" in page


def test_the_login_page_offers_the_language_switch(client, db):
    page = client.get("/admin/login/").content.decode()
    assert "钉钉⇄金蝶集成门户" in page and 'name="language"' in page
