# syntax=docker/dockerfile:1
# The coordinator image: the static binary on distroless static (CA
# bundle, tzdata, a nonroot user; no shell). Its bbolt database goes on a
# volume at /var/lib/confed. Build from the repository root:
#
#   docker build -f deploy/docker/coordinator.Dockerfile -t confed-coordinator .

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CONFED_GO_VERSION=1.26.8 SOURCE_DATE_EPOCH=0
RUN scripts/reproducible-build.sh confed-coordinator /out/confed-coordinator \
 && scripts/reproducible-build.sh confed /out/confed

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/confed-coordinator /out/confed /usr/local/bin/
USER 65532:65532
VOLUME ["/var/lib/confed"]
EXPOSE 7443 8081
ENTRYPOINT ["/usr/local/bin/confed-coordinator"]
