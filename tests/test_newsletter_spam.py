"""Every kind of newsletter scores below 1.0 in SpamAssassin with its offline rules."""

import re
import shutil
import subprocess

import pytest

from tests.conftest import ON_CI

MESSAGES = ["bundled", "image_led", "long_word", "portrait", "full_code", "digest"]


@pytest.fixture(scope="module")
def spamassassin() -> str:
    found = shutil.which("spamassassin")
    if found is None:
        if ON_CI:
            pytest.fail("spamassassin is missing; .ci/run installs it")
        pytest.skip("spamassassin is not installed (apt-get install spamassassin)")
    return found


@pytest.mark.parametrize("name", MESSAGES)
def test_message_scores_below_one(spamassassin, craft, name):
    report = subprocess.run(
        [spamassassin, "-L", "-t"],
        input=(craft[name] / "message.eml").read_bytes(),
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout.decode()
    score = float(re.search(r"Content analysis details:\s+\((-?[\d.]+) points", report)[1])
    assert score < 1.0, report.split("Content analysis details:", 1)[1]
