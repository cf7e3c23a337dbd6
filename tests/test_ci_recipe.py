"""The CI recipe in examples/publish.yml, run step by step as GitHub Actions would run it.

Each workflow run gets a fresh clone of a sample site from a local "origin" repository, and
the `run:` steps are executed in order with bash, as Actions does, with the repository's
secrets in the environment and a local SMTP server standing in for the provider. The
install step is skipped: these tests already run with publisher installed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "publish.yml"
POSTGRES_WORKFLOW = ROOT / "examples" / "publish-postgres.yml"
SITE_CONFIG = """
[site]
title = "Sample"
url = "https://sample.example.com"

[newsletter]
postal_address = "1 Sample Street"

[mail]
retry_delay = 0.05
"""


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(autouse=True)
def stop_gpg_agent(tmp_path):
    """gpg starts an agent for each home folder that outlives the test: stop it with the test."""
    yield
    gnupg = tmp_path / "gnupg"
    if gnupg.exists():
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], check=False)


@pytest.fixture
def origin(tmp_path):
    """A bare repository holding a sample blog, and a working copy the writer pushes from."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    writer = tmp_path / "writer"
    git(tmp_path, "clone", "--quiet", str(bare), str(writer))
    (writer / "publisher.toml").write_text(SITE_CONFIG)
    (writer / ".gitignore").write_text(".publisher/\n_site/\n")
    (writer / "posts").mkdir()
    for day in ("01", "02"):
        (writer / "posts" / f"2024-01-{day}-old-{day}.md").write_text(
            f"---\ntitle: Old {day}\n---\n\nOld.\n"
        )
    commit_and_push(writer, "A blog")
    return bare, writer


def commit_and_push(writer, message):
    git(writer, "add", "-A")
    git(
        writer,
        "-c",
        "user.name=w",
        "-c",
        "user.email=w@example.com",
        "commit",
        "--quiet",
        "-m",
        message,
    )
    git(writer, "push", "--quiet", "origin", "HEAD:main")


def workflow_steps(workflow=WORKFLOW):
    job = yaml.safe_load(workflow.read_text())["jobs"]["publish"]
    return job["env"], job["steps"]


def this_project() -> str:
    """The recipe's PUBLISHER_PACKAGE as a writer sets it, pinned to this checkout's commit."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return f"publisher-feeds @ git+file://localhost{ROOT}@{commit}"


def environment(secrets, tmp_path, package=None, workflow=WORKFLOW):
    """The job's environment: its env block with `secrets` filled in (an unset secret is an
    empty string, as on GitHub), and PUBLISHER_PACKAGE pointing at this project."""
    job_env, _ = workflow_steps(workflow)
    values = {}
    for name, value in job_env.items():
        match = re.fullmatch(r"\$\{\{ secrets\.(\w+) \}\}", str(value))
        values[name] = secrets.get(match.group(1), "") if match else str(value)
    values["PUBLISHER_PACKAGE"] = package or this_project()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700, exist_ok=True)
    # The recipe's scratch folders (mktemp -d), inside the test's, which pytest cleans.
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, **values, "PATH": path, "GNUPGHOME": str(gnupg), "TMPDIR": str(scratch)}


def should_run(condition, failed, outcomes):
    """The two forms of `if:` the recipe uses: always() and steps.<id>.outcome == 'success'."""
    if condition is None:
        return not failed
    for term in condition.split("&&"):
        term = term.strip()
        step = re.fullmatch(r"steps\.(\w+)\.outcome == 'success'", term)
        if term == "always()":
            continue
        if not step:
            raise AssertionError(f"the test cannot evaluate if: {condition}")
        if outcomes.get(step.group(1)) != "success":
            return False
    return True


def run_workflow(bare, tmp_path, secrets, number, package=None, workflow=WORKFLOW):
    """One workflow run in a fresh checkout; returns each step's name and output. The
    install step is left out: `test_the_install_step_installs_this_project` runs it."""
    clone = tmp_path / f"run-{number}"
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    env = environment(secrets, tmp_path, package, workflow)
    _, steps = workflow_steps(workflow)
    outcomes, failed, log = {}, False, {}
    for step in steps:
        if "run" not in step or step.get("id") == "install":
            continue
        if not should_run(step.get("if"), failed, outcomes):
            continue
        shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        result = subprocess.run(shell, cwd=clone, env=env, capture_output=True, text=True)
        outcome = "success" if result.returncode == 0 else "failure"
        outcomes[step.get("id", step["name"])] = outcome
        failed = failed or outcome == "failure"
        log[step["name"]] = (outcome, result.stdout + result.stderr)
    return log


def save_state_by_hand(writer, tmp_path, secrets):
    """What docs/ci.md tells a writer to do after changing the list: the recipe's save step."""
    _, steps = workflow_steps()
    save = next(step for step in steps if step.get("name") == "Save the state")
    env = environment(secrets, tmp_path)
    subprocess.run(["bash", "-eo", "pipefail", "-c", save["run"]], cwd=writer, env=env, check=True)


def test_recipe_mails_a_new_post_once_and_then_nothing(origin, tmp_path, smtp_sink):
    bare, writer = origin
    secrets = {
        "PUBLISHER_SECRET": "unsubscribe-signing-secret",
        "PUBLISHER_STATE_KEY": "state-encryption-key",
        "PUBLISHER_SMTP_HOST": "127.0.0.1",
        "PUBLISHER_SMTP_PORT": str(smtp_sink.port),
        "PUBLISHER_SMTP_SECURITY": "none",
    }
    env = environment(secrets, tmp_path)
    for email in ("ann@example.com", "bob@example.com"):
        subprocess.run(["publisher", "subscribers", "add", email], cwd=writer, env=env, check=True)
    save_state_by_hand(writer, tmp_path, secrets)

    first = run_workflow(bare, tmp_path, secrets, 1)
    assert first["Publish"][0] == "success", first["Publish"][1]
    assert (
        "First run: 2 published posts recorded as published before the newsletter started"
        in first["Publish"][1]
    )
    assert not smtp_sink.received

    (writer / "posts" / "2024-06-01-news.md").write_text("---\ntitle: News\n---\n\nFresh.\n")
    commit_and_push(writer, "A new post")
    second = run_workflow(bare, tmp_path, secrets, 2)
    assert second["Publish"][0] == "success", second["Publish"][1]
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}

    third = run_workflow(bare, tmp_path, secrets, 3)
    assert third["Publish"][0] == "success", third["Publish"][1]
    assert "Newsletter: nothing due" in third["Publish"][1]
    assert "State unchanged." in third["Save the state"][1]
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}


def test_the_postgresql_recipe_mails_a_list_kept_elsewhere_once(
    origin, tmp_path, smtp_sink, database_url
):
    bare, writer = origin
    secrets = {
        "PUBLISHER_SECRET": "unsubscribe-signing-secret",
        "PUBLISHER_DATABASE_URL": database_url,
        "PUBLISHER_SMTP_HOST": "127.0.0.1",
        "PUBLISHER_SMTP_PORT": str(smtp_sink.port),
        "PUBLISHER_SMTP_SECURITY": "none",
    }
    # The list as the sign-up service on its own host keeps it: in the database, not here.
    env = environment(secrets, tmp_path, workflow=POSTGRES_WORKFLOW)
    subprocess.run(
        ["publisher", "subscribers", "add", "ann@example.com"], cwd=writer, env=env, check=True
    )
    first = run_workflow(bare, tmp_path, secrets, 1, workflow=POSTGRES_WORKFLOW)
    assert first["Publish"][0] == "success", first["Publish"][1]
    assert not smtp_sink.received
    (writer / "posts" / "2024-06-01-news.md").write_text("---\ntitle: News\n---\n\nFresh.\n")
    commit_and_push(writer, "A new post")
    for number in (2, 3):
        run = run_workflow(bare, tmp_path, secrets, number, workflow=POSTGRES_WORKFLOW)
        assert run["Publish"][0] == "success", run["Publish"][1]
    assert smtp_sink.received == {"ann@example.com": 1}
    assert "State" not in " ".join(run)  # no step restores or saves a state


def test_no_address_is_committed_in_plain_text(origin, tmp_path, smtp_sink):
    bare, writer = origin
    secrets = {"PUBLISHER_SECRET": "s", "PUBLISHER_STATE_KEY": "k"}
    env = environment(secrets, tmp_path)
    subprocess.run(
        ["publisher", "subscribers", "add", "secret-reader@example.com"],
        cwd=writer,
        env=env,
        check=True,
    )
    save_state_by_hand(writer, tmp_path, secrets)
    run_workflow(bare, tmp_path, secrets, 1)
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=bare,
        capture_output=True,
        check=True,
    ).stdout
    assert b"state.db.gpg" in objects
    assert b"secret-reader@example.com" not in objects


def test_a_wrong_key_never_replaces_the_state(origin, tmp_path, smtp_sink):
    bare, writer = origin
    secrets = {"PUBLISHER_SECRET": "s", "PUBLISHER_STATE_KEY": "right"}
    env = environment(secrets, tmp_path)
    subprocess.run(
        ["publisher", "subscribers", "add", "ann@example.com"], cwd=writer, env=env, check=True
    )
    save_state_by_hand(writer, tmp_path, secrets)
    before = subprocess.run(
        ["git", "rev-parse", "publisher-state"], cwd=bare, capture_output=True
    ).stdout
    log = run_workflow(bare, tmp_path, {**secrets, "PUBLISHER_STATE_KEY": "wrong"}, 1)
    assert log["Restore the state"][0] == "failure"
    assert "Publish" not in log and "Save the state" not in log
    after = subprocess.run(
        ["git", "rev-parse", "publisher-state"], cwd=bare, capture_output=True
    ).stdout
    assert after == before


def test_the_install_step_installs_this_project(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    _, steps = workflow_steps()
    install = next(step for step in steps if step.get("id") == "install")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PUBLISHER_PACKAGE": this_project(),
        "PIP_NO_DEPS": "1",  # its dependencies come from PyPI, as the project pins them
    }
    subprocess.run(["bash", "-eo", "pipefail", "-c", install["run"]], env=env, check=True)
    assert (venv / "bin" / "publisher").exists()
    [metadata] = venv.glob("lib/python*/site-packages/publisher_feeds-*.dist-info/METADATA")
    assert "Name: publisher-feeds" in metadata.read_text()
    [cli] = venv.glob("lib/python*/site-packages/publisher/cli.py")
    commit = this_project().rsplit("@", 1)[1]
    shown = subprocess.run(
        ["git", "show", f"{commit}:publisher/cli.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert cli.read_text() == shown.stdout


@pytest.mark.parametrize(
    ("secrets", "package", "message"),
    [
        ({"PUBLISHER_SECRET": "s", "PUBLISHER_STATE_KEY": "k"}, "placeholder", "PUBLISHER_PACKAGE"),
        ({"PUBLISHER_SECRET": "s"}, None, "the repository secret PUBLISHER_STATE_KEY is not set"),
        ({"PUBLISHER_STATE_KEY": "k"}, None, "the repository secret PUBLISHER_SECRET is not set"),
    ],
)
def test_a_recipe_not_yet_set_up_says_what_to_set_first(
    origin, tmp_path, secrets, package, message
):
    bare, _ = origin
    job_env, _ = workflow_steps()
    placeholder = job_env["PUBLISHER_PACKAGE"] if package == "placeholder" else None
    log = run_workflow(bare, tmp_path, secrets, 1, placeholder)
    outcome, output = log["Check the settings"]
    assert outcome == "failure"
    assert message in output
    assert "Publish" not in log


def test_the_build_cache_is_kept_between_runs_before_publishing():
    _, steps = workflow_steps()
    names = [step.get("name") for step in steps]
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".publisher/cache"
    assert cache["with"]["key"].startswith(cache["with"]["restore-keys"])
    assert names.index(cache["name"]) < names.index("Publish")
