"""Every message the project shows has a Simplified Chinese translation: the Chinese UI shows no English.

Messages are read from the code itself (gettext calls in Python, translate tags in templates), so a string
added without its zh_Hans entry fails here even if nobody ran makemessages; the .po files may hold no fuzzy
and no empty translation.
"""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
APPS = ["portal", "integrations", "sso", "sandbox", "mobile", "templates"]
SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy"}
PLURAL = {"ngettext", "ngettext_lazy", "npgettext", "npgettext_lazy"}
TRANSLATE_TAG = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.+?)\1""")
BLOCK_TAG = re.compile(r"{%\s*(?:blocktranslate|blocktrans)(?P<options>[^%]*)%}(?P<body>.*?)"
                       r"(?:{%\s*plural\s*%}(?P<plural>.*?))?{%\s*endblocktrans(?:late)?\s*%}", re.S)
VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")
# DingTalk's own names for an app's credentials and a user's ids, as its developer console shows them in Chinese.
PROPER_NOUNS = {"AgentId", "AppKey", "AppSecret", "CorpId", "userid", "unionid"}


def sources(suffix):
    for app in APPS:
        for path in (ROOT / app).rglob(f"*{suffix}"):
            if "migrations" not in path.parts and "node_modules" not in path.parts:
                yield path


def python_messages(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        texts = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        if name in SINGULAR and texts:
            context = texts[0] if name.startswith("p") and len(texts) > 1 else None
            yield path, context, texts[-1], None
        elif name in PLURAL and len(texts) >= 2:
            context = texts[0] if name.startswith("np") and len(texts) > 2 else None
            yield path, context, texts[-2], texts[-1]


def block_text(text, options):
    text = VARIABLE.sub(r"%(\1)s", text.replace("%", "%%"))
    return " ".join(line.strip() for line in text.strip().splitlines()) if "trimmed" in options else text


def template_messages(path):
    text = path.read_text()
    for match in TRANSLATE_TAG.finditer(text):
        yield path, None, match.group(2), None
    for match in BLOCK_TAG.finditer(text):
        options, plural = match.group("options"), match.group("plural")
        context = re.search(r"""context\s+(["'])(.+?)\1""", options)
        yield (path, context and context.group(2), block_text(match.group("body"), options),
               plural and block_text(plural, options))


def project_messages():
    for path in sources(".py"):
        yield from python_messages(path)
    for path in sources(".html"):
        yield from template_messages(path)


def translated(context, singular, plural):
    if plural is not None:
        return (translation.npgettext(context, singular, plural, 1) if context else
                translation.ngettext(singular, plural, 1))
    return translation.pgettext(context, singular) if context else translation.gettext(singular)


def needs_translation(text):
    if text in PROPER_NOUNS:
        return False
    return re.search(r"[A-Za-z]{2,}", re.sub(r"%\(\w+\)[sd]|\{\w*\}", "", text)) is not None


def test_every_project_message_has_a_chinese_translation():
    with translation.override("zh-hans"):
        missing = sorted({f"{path.relative_to(ROOT)}: {singular!r}" for path, context, singular, plural
                          in project_messages() if needs_translation(singular)
                          and translated(context, singular, plural) == singular})
    assert not missing, f"{len(missing)} messages without zh_Hans:\n" + "\n".join(missing)


CATALOGS = sorted(path for app in APPS for path in (ROOT / app).glob("**/locale/zh_Hans/LC_MESSAGES/*.po"))


@pytest.mark.parametrize("po", CATALOGS, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_catalog_holds_a_fuzzy_or_empty_translation(po):
    entries = po.read_text().split("\n\n")[1:]
    fuzzy = [entry for entry in entries if "#, fuzzy" in entry]
    empty = [entry for entry in entries if re.search(r'msgstr(\[\d\])? ""\n?$', entry.strip() + "\n")
             and not re.search(r'msgstr(\[\d\])? ""\n"', entry)]
    assert not fuzzy and not empty, (fuzzy + empty)[:5]


CJK = re.compile(r"[\u4e00-\u9fff]")
UNTRANSLATED_TAGS = re.compile(r"""{%\s*(?:translate|trans)\s+(["']).+?\1[^%]*%}"""
                               r"|{%\s*blocktrans.*?endblocktrans(?:late)?\s*%}"
                               r"|{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
# Chinese that is data, not UI: the column headers an identity-map workbook must carry, whatever the UI language.
FILE_HEADERS = {"sso/templates/admin/sso/identitymap/import.html",
                "sso/templates/admin/sso/identitymap/import_status.html"}


def test_the_english_ui_is_complete_every_message_is_written_in_english():
    """The English UI shows each message's source text: Chinese there (outside quoted names) would stay Chinese."""
    chinese = sorted({f"{path.relative_to(ROOT)}: {singular!r}" for path, _context, singular, _plural
                      in project_messages() if CJK.search(singular) and not re.search(r"[A-Za-z]{3,}", singular)})
    assert not chinese, "messages written in Chinese:\n" + "\n".join(chinese)


def test_templates_hold_no_chinese_outside_translated_text():
    found = []
    for path in sources(".html"):
        if str(path.relative_to(ROOT)) in FILE_HEADERS:
            continue
        for line in UNTRANSLATED_TAGS.sub("", path.read_text()).splitlines():
            if CJK.search(line):
                found.append(f"{path.relative_to(ROOT)}: {line.strip()[:100]}")
    assert not found, "Chinese the English UI would show:\n" + "\n".join(found)
