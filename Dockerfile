FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libportaudio2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so this layer is cached while the source changes.
COPY pyproject.toml README.md ./
RUN mkdir assistant && touch assistant/__init__.py && pip install --no-cache-dir '.[multilingual]' && pip uninstall -y assistant
COPY assistant ./assistant
COPY web ./web
COPY demo ./demo
COPY config.toml ./
RUN pip install --no-cache-dir --no-deps -e .
EXPOSE 8080
CMD ["assistant", "serve", "--config", "config.toml", "--host", "0.0.0.0"]
