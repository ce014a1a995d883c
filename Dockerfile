FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md schema.graphql ./
COPY opsknight ./opsknight
RUN pip install --no-cache-dir . && useradd --create-home opsknight
USER opsknight
WORKDIR /home/opsknight
ENV OPSKNIGHT_HOST=0.0.0.0 OPSKNIGHT_PORT=8080
EXPOSE 8080
CMD ["sh", "-c", "opsknight migrate && exec opsknight serve --host 0.0.0.0"]
