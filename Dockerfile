FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md schema.graphql ./
COPY opsknight ./opsknight
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 opsknight
USER opsknight
WORKDIR /home/opsknight
ENV OPSKNIGHT_HOST=0.0.0.0 OPSKNIGHT_PORT=8080 PYTHONUNBUFFERED=1
EXPOSE 8080
# /healthz answers while the process is up; /readyz also checks the database and Redis.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# One container on SQLite: migrate, then serve. With several replicas run `opsknight
# migrate` once (docker-compose.yml does it in its own service) and `opsknight serve`.
CMD ["sh", "-c", "opsknight migrate && exec opsknight serve"]
