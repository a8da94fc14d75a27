# syntax=docker/dockerfile:1
# The participant image for external trainers (trainer.kind: external) that
# run Debian's /usr/bin/python3: the static participant binary on Debian
# slim with python3 and numpy from Debian. Add what your trainer needs
# (python3-torch, ...) in a derived image, from Debian's packages so that
# the versions are pinned by the Debian release. Build from the
# repository root:
#
#   docker build -f deploy/docker/participant-python.Dockerfile -t confed-participant:python .

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CONFED_GO_VERSION=1.26.8 SOURCE_DATE_EPOCH=0
RUN scripts/reproducible-build.sh confed-participant /out/confed-participant

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-numpy \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 confed \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin confed
COPY --from=build /out/confed-participant /usr/local/bin/confed-participant
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/confed-participant"]
