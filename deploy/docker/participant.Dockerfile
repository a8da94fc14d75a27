# syntax=docker/dockerfile:1
# The participant image for the built-in trainer: the static binary on
# distroless static (no shell, no Python). For external trainers that run
# /usr/bin/python3, use participant-python.Dockerfile. Build from the
# repository root:
#
#   docker build -f deploy/docker/participant.Dockerfile -t confed-participant .

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CONFED_GO_VERSION=1.26.8 SOURCE_DATE_EPOCH=0
RUN scripts/reproducible-build.sh confed-participant /out/confed-participant

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/confed-participant /usr/local/bin/confed-participant
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/confed-participant"]
