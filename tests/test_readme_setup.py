"""The README opens with the two set-up commands, and CI runs the second one as written."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def opening_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_install_and_demo_then_tests():
    demo, tests = opening_commands()
    assert demo.startswith("pip install . ") and demo.endswith("&& avsync demo")
    assert '".[dev]"' in tests and tests.endswith("&& python -m pytest -q")


def test_ci_runs_the_readme_test_command_exactly():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert opening_commands()[1] in ci_lines
