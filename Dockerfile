# The `tiktok` command in a container: one worker of a sharded batch, or a nightly job.
# How to build and run it: README, "The container image" (the one example, kept there).
# No setting or secret is baked in: pass them at run time (README: "Many accounts, many machines").

# The base by tag and by digest: the tag says what it is, the digest makes every build start
# from the same bytes. This is python:3.12-slim's multi-platform index of 2026-10-08
# (Python 3.12.15, Debian 13). To move it, read the tag's current index digest
# (`docker buildx imagetools inspect python:3.12-slim`, its "Digest:") and replace it here.
FROM python:3.12-slim@sha256:05cda9777409a9c3ffddd94a4c476b79f0769a0b4857f0c7ed9226b6800b0d6f AS base

# The build stage: a virtual environment with the package and its pinned dependencies. The
# environment has no pip of its own (the base's pip installs into it), so copying it into
# the final stage copies no installer and no build tool.
FROM base AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
# Only what the package is built from (.dockerignore keeps the rest out of the context),
# and constraints.txt: the versions CI tested, so an image built tonight has the same ones.
COPY constraints.txt pyproject.toml README.md /src/
COPY tiktok_cli /src/tiktok_cli
# The web extra (a browser-like TLS fingerprint for --backend web) and the postgres extra
# (a shared PostgreSQL store); SQLite needs nothing more.
RUN python -m venv --without-pip /opt/tiktok \
    && pip --python /opt/tiktok/bin/python install --no-cache-dir -c /src/constraints.txt "/src[web,postgres]"

FROM base
LABEL org.opencontainers.image.title="tiktok-follows" \
      org.opencontainers.image.description="Export TikTok follower and following lists; the command is tiktok." \
      org.opencontainers.image.licenses="MIT"
# Unbuffered: log lines reach `docker logs` and kubectl as they are written. No .pyc files
# written at run time (the root filesystem may be read-only).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/tiktok/bin:$PATH \
    TIKTOK_CONFIG=/config/config.toml
COPY --from=build /opt/tiktok /opt/tiktok
# The base's own pip goes too: the image runs tiktok, it installs nothing.
RUN python -m pip uninstall --yes --quiet pip \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin tiktok \
    && mkdir -p /data /config \
    && chown tiktok:tiktok /data

# A numeric user, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# Outputs, checkpoints and a SQLite store go here. No VOLUME: it would leave an anonymous
# volume behind on every run; mount a folder or a named volume with -v …:/data to keep them.
WORKDIR /data

ENTRYPOINT ["tiktok"]
CMD ["--help"]
