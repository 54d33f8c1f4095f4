import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ_BY_SETTINGS = re.compile(r'(?:env(?:\.\w+)?|env_bool|env_int|required)\(\s*"([A-Z][A-Z0-9_]+)"')


def test_every_setting_is_documented_in_readme_and_env_example():
    names = set(READ_BY_SETTINGS.findall((ROOT / "portal" / "settings.py").read_text()))
    assert {"SECRET_KEY", "DATABASE_URL", "FERNET_KEYS", "REDIS_URL"} <= names
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    assert not [n for n in names if f"`{n}`" not in readme], "missing from README's table"
    assert not [n for n in names if f"{n}=" not in example and n != "TEST_DATABASE_NAME"], "missing from .env.example"


def test_readme_opens_with_the_two_commands():
    opening = (ROOT / "README.md").read_text().split("## ")[0]
    assert "make demo" in opening and "make test" in opening


def test_make_demo_installs_no_browser_and_make_test_does():
    import subprocess

    def planned(target):
        return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    assert "chromium" not in planned("demo")
    assert "chromium" in planned("test")
