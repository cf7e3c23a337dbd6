"""The Dockerfile builds an image that serves the sign-up pages of a mounted site.

Run where Docker or Podman works (and can pull python:3.11-slim); skipped elsewhere."""

import shutil
import subprocess
import uuid

import pytest
import requests

from tests.helpers import ROOT, SECRET, healthz


def container_engine() -> str:
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=30).returncode == 0:
            return path
    pytest.skip("neither Docker nor Podman is running here")


def test_the_image_serves_a_mounted_site(bundled):
    engine = container_engine()
    base = subprocess.run([engine, "pull", "python:3.11-slim"], capture_output=True, timeout=600)
    if base.returncode != 0:
        pytest.skip(f"cannot pull the base image: {base.stderr.decode()[-200:]}")
    tag = f"publisher-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run([engine, "build", "-t", tag, str(ROOT)], capture_output=True)
    assert build.returncode == 0, build.stderr.decode()[-2000:]
    bundled.root.chmod(0o777)
    run = [engine, "run", "-d", "--rm", "-e", f"PUBLISHER_SECRET={SECRET}", "-p", "127.0.0.1::8080"]
    container = subprocess.run(
        [*run, "-v", f"{bundled.root}:/site", tag], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        port = (
            subprocess.run(
                [engine, "port", container, "8080"], capture_output=True, text=True, check=True
            )
            .stdout.split(":")[-1]
            .strip()
        )
        assert healthz(f"http://127.0.0.1:{port}").status_code == 200
        page = requests.get(f"http://127.0.0.1:{port}/subscribe", timeout=5)
        assert "Notes on Machine Learning" in page.text
    finally:
        subprocess.run([engine, "stop", container], capture_output=True)
        subprocess.run([engine, "rmi", tag], capture_output=True)
