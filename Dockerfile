# vendorwatch: one image for the worker, the dispatcher, ingest and the CLI (the command picks the role).
#   docker build -t vendorwatch .        docker run vendorwatch worker
# Built in two stages so the runtime image has no compiler or pip cache; runs as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY streams streams
COPY alerts alerts
COPY ingest ingest
COPY vendorwatch vendorwatch
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN groupadd --system --gid 10001 vendorwatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/vendorwatch --create-home vendorwatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /var/lib/vendorwatch
# Listen on all interfaces inside the container; table state under the volume mounted at data/.
ENV PYTHONUNBUFFERED=1 \
    VENDORWATCH_HTTP_HOST=0.0.0.0 \
    VENDORWATCH_DATA_DIR=/var/lib/vendorwatch/data
VOLUME ["/var/lib/vendorwatch/data"]
EXPOSE 6066 6067 6068
ENTRYPOINT ["vendorwatch"]
CMD ["worker"]
