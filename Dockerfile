# GPT Image Panel: the SvelteKit frontend is built first, then embedded into one static server binary.
ARG NODE_BASE_IMAGE=node:20-bookworm-slim
ARG RUST_BASE_IMAGE=rust:1.95-bookworm

FROM ${NODE_BASE_IMAGE} AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
COPY VERSION /src/VERSION
RUN npm run build

FROM ${RUST_BASE_IMAGE} AS server
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml VERSION ./
COPY actors actors
COPY migration migration
COPY src src
COPY tests tests
COPY --from=frontend /src/frontend/build frontend/build
RUN cargo build --profile dist --locked --bin gpt-image-panel

FROM debian:bookworm-slim
# Unpinned on purpose: ca-certificates and libheif (heif-convert, for AVIF/HEIC uploads) must follow
# the base image's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libheif-examples \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin panel \
    && mkdir -p /app/data /app/images/thumbs \
    && chown -R panel:panel /app \
    && chmod 0700 /app/data
COPY --from=server /src/target/dist/gpt-image-panel /usr/local/bin/gpt-image-panel
WORKDIR /app
USER 10001:10001
ENV HOST=0.0.0.0 \
    PORT=9090 \
    DATA_DIR=/app/data \
    DATABASE_FILE=/app/data/app.sqlite3 \
    IMAGES_DIR=/app/images \
    THUMBNAILS_DIR=/app/images/thumbs
EXPOSE 9090
VOLUME ["/app/data", "/app/images"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["gpt-image-panel", "healthcheck"]
ENTRYPOINT ["gpt-image-panel"]
CMD ["serve"]
