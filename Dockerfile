# syntax=docker/dockerfile:1
# whatsminer-exporter image: `serve` (default), `simulate`, `healthcheck`, ...
#   docker build -t whatsminer-exporter .
#   docker run --rm -p 127.0.0.1:9710:9710 -v "$PWD/exporter.toml:/etc/whatsminer/exporter.toml:ro" whatsminer-exporter

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# Only what the build needs (see .dockerignore); Cargo.lock pins every crate.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin whatsminer-exporter \
    && install -D -m 0755 target/release/whatsminer-exporter /out/whatsminer-exporter

FROM debian:bookworm-slim
# Fixed uid/gid so that mounted secrets and files can be granted to it.
RUN groupadd --system --gid 10001 whatsminer \
    && useradd --system --uid 10001 --gid whatsminer --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin whatsminer
# The webhook's state file lives here ([webhook] state_file); a named volume
# mounted on it starts out with this owner.
RUN install -d -o 10001 -g 10001 -m 0750 /var/lib/whatsminer-exporter
COPY --from=builder /out/whatsminer-exporter /usr/local/bin/whatsminer-exporter
USER 10001:10001
# 9710: /metrics, /probe, /-/healthy. 9711: admin API and Alertmanager webhook.
EXPOSE 9710 9711
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/whatsminer-exporter", "healthcheck", "--url", "http://127.0.0.1:9710/-/healthy"]
ENTRYPOINT ["/usr/local/bin/whatsminer-exporter"]
CMD ["serve", "--config", "/etc/whatsminer/exporter.toml"]
