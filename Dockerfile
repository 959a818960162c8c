# The playground in a small image: slim Python, a non-root user, only what the app needs.
# Run it with a key from the environment and a volume for the ledger and videos:
#   docker build -t wan27-playground .
#   docker run -p 7860:7860 -e DASHSCOPE_API_KEY -v wan27-data:/data wan27-playground
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    PLAYGROUND_HOST=0.0.0.0 \
    PLAYGROUND_PORT=7860 \
    PLAYGROUND_DATA_DIR=/data

# Fonts for the sandbox's videos: DejaVu (Latin, Greek, Cyrillic) and WenQuanYi Micro Hei, so a
# Chinese, Japanese or Korean prompt is drawn in real glyphs, not boxes. Any version will do.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 playground \
    && mkdir /data \
    && chown playground:playground /data

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py ./
COPY playground ./playground

USER 10001
EXPOSE 7860
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/healthz', timeout=4)"]
CMD ["python", "app.py"]
