"""Every shell command README.md shows runs as written, in order, in a fresh copy of the
project, after the two set-up commands (this test's own environment stands in for them)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def shell_blocks(readme: str) -> list[str]:
    """README's indented code blocks (fenced ones hold TOML), sample output left out."""
    blocks, current, fenced, blank_before = [], [], False, True
    for line in [*readme.splitlines(), ""]:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("    ") and (current or blank_before):
            current.append(line[4:])
        elif current and not line.strip():
            blocks.append("\n".join(current))
            current = []
        blank_before = not line.strip()
    return [block for block in blocks if not block.startswith("Built:")]


def as_run_after_setup(block: str) -> str | None:
    """The block as it runs once the set-up commands have made .venv; None for the test
    command itself."""
    if "pytest" in block:
        return None
    if block.startswith("python3 -m venv"):
        return block.rsplit("&&", 1)[1].strip()
    return block


def fresh_copy(folder: Path) -> Path:
    """The project's files as a clone has them, with this test's virtual environment."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (file.decode() for file in files)):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return folder


def test_every_readme_command_runs_as_written(tmp_path):
    clone = fresh_copy(tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUBLISHER_", "CI"))}
    commands = [as_run_after_setup(b) for b in shell_blocks((ROOT / "README.md").read_text())]
    ran = 0
    for command in filter(None, commands):
        result = subprocess.run(
            ["bash", "-e", "-c", command], cwd=clone, env=env, capture_output=True, text=True
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command}\n{output}"
        assert "Traceback" not in output, f"{command}\n{output}"
        ran += 1
    assert ran >= 5
    outbox = clone / ".publisher" / "outbox" / "new"
    mailed = [path.read_text() for path in outbox.iterdir()]
    assert any("Subject: Hello" in message for message in mailed)
