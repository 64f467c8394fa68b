# The `tiktok` command in a container: one worker of a sharded batch, or a nightly job.
#   docker build -t tiktok-follows .
#   docker run --rm -v "$PWD:/data" -e TIKTOK_API_TOKEN tiktok-follows followers cnn -o followers.csv
# No setting or secret is baked in: pass them at run time (README: "Many accounts, many machines").
FROM python:3.12-slim

LABEL org.opencontainers.image.title="tiktok-follows" \
      org.opencontainers.image.description="Export TikTok follower and following lists; the command is tiktok." \
      org.opencontainers.image.licenses="MIT"

# Unbuffered: log lines reach `docker logs` and kubectl as they are written. No .pyc files
# and no pip cache: nothing the image does not need.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    TIKTOK_CONFIG=/config/config.toml

# Only what the package is built from (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md /src/
COPY tiktok_cli /src/tiktok_cli
# The web extra (a browser-like TLS fingerprint for --backend web) and the postgres extra
# (a shared PostgreSQL store); SQLite needs nothing more.
RUN pip install --no-cache-dir "/src[web,postgres]" \
    && rm -rf /src \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin tiktok \
    && mkdir -p /data /config \
    && chown tiktok:tiktok /data

# A numeric user, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# Outputs, checkpoints and a SQLite store go here: mount a volume to keep them.
WORKDIR /data
VOLUME ["/data"]

ENTRYPOINT ["tiktok"]
CMD ["--help"]
