# The image an operator deploys: instances (`assistant serve`, the default) and transcription
# workers (`assistant worker`) alike, run as a non-root user with the archive on a volume.
# Several machines: compose.yaml beside this file and docs/cluster.md.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libportaudio2=19.6.0-1.2 \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Dependencies first (versions bounded in pyproject.toml), so this layer is cached while the source changes.
COPY pyproject.toml README.md ./
RUN mkdir assistant && touch assistant/__init__.py \
    && pip install --no-cache-dir './[multilingual]' && pip uninstall -y assistant
COPY assistant ./assistant
COPY web ./web
COPY demo ./demo
COPY config.toml ./
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin assistant \
    && mkdir /data && chown assistant /data
USER 10001
# meetings.db (the archive, or an instance's projection of the cluster's log) and downloaded models
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/api/health', timeout=4).status != 200)"]
CMD ["assistant", "serve", "--config", "config.toml", "--host", "0.0.0.0", "--data-dir", "/data"]
