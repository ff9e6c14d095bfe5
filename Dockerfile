# syntax=docker/dockerfile:1
#
# lettermon as a long-running worker. Building needs BuildKit (Docker Engine 23 and later
# use it by default; with an older engine: DOCKER_BUILDKIT=1 docker build ...).
#
#   docker build -t lettermon .
#   docker run -d --name lettermon -v lettermon-data:/data lettermon
#
# The database lives in the /data volume, the config is /config/lettermon.toml (mount your
# own over it), secrets come from LETTERMON_* variables or Docker secrets in /run/secrets.

# --- builder: turn the source tree into a wheel ---------------------------------------------
FROM python:3.11-slim-bookworm AS builder

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The build backend (hatchling) is fetched into an isolated build environment, at the
# version pyproject.toml's [build-system] asks for; it never reaches the final image.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- final image: the wheel and its dependencies, no build tools ----------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Binary wheels only: nothing is compiled, so the image needs no compiler or build backend.
# The lettermon wheel itself is mounted from the builder stage and never stored in a layer.
# DL3013 (pin versions in pip) is ignored with reason: the package installed is the wheel
# just built from this source tree, and its dependencies are bounded in pyproject.toml.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    set -eu; \
    for wheel in /wheels/lettermon-*.whl; do \
        pip install --no-cache-dir --only-binary=:all: "${wheel}[postgres,chart]"; \
    done; \
    lettermon --version

# The user and its group get the ids USER runs the process with, so /data belongs to it.
RUN groupadd --system --gid 10001 lettermon \
    && useradd --system --no-log-init --uid 10001 --gid lettermon \
        --home-dir /data --shell /usr/sbin/nologin lettermon \
    && mkdir -p /data/site /config \
    && chown lettermon:lettermon /data /data/site

COPY --chown=root:root --chmod=0644 config/lettermon.toml /config/lettermon.toml

ENV LETTERMON_CONFIG=/config/lettermon.toml \
    LETTERMON_DATABASE_URL=sqlite:////data/lettermon.sqlite3 \
    LETTERMON_LOG_FORMAT=json

VOLUME /data
WORKDIR /data
USER 10001:10001

# Healthy when every letter had a successful poll within its allowed age (3 x interval by
# default) and no post has given up. The first poll of a large letter is a full backfill,
# hence the long start period.
HEALTHCHECK --interval=1m --timeout=30s --start-period=10m --retries=3 \
    CMD ["lettermon", "health"]

# SIGTERM finishes the poll in progress and exits 0 within 10 s (docker stop's default grace).
STOPSIGNAL SIGTERM
ENTRYPOINT ["lettermon"]
CMD ["run"]
