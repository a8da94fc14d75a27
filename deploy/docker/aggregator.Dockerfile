# syntax=docker/dockerfile:1
# The aggregator image: one static binary, built reproducibly, on an empty
# base. No shell, no package manager, no libc: nothing in the image but the
# binary, the CA bundle (for fetching AMD/Intel collateral over HTTPS) and
# a passwd entry for the non-root user. Build from the repository root:
#
#   docker build -f deploy/docker/aggregator.Dockerfile -t confed-aggregator .
#
# The binary inside is byte-identical to the one `make aggregator-digest`
# builds with the same Go toolchain (go1.26.8 here), so an auditor can
# compare /confed-aggregator's SHA-256 with their own build. Pin the build
# image by digest (golang:1.26.8-bookworm@sha256:...) for a reproducible
# CA bundle too; see docs/deploy.md.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CONFED_GO_VERSION=1.26.8 SOURCE_DATE_EPOCH=0
RUN scripts/reproducible-build.sh confed-aggregator /out/confed-aggregator \
 && printf 'confed:x:65532:65532:confed:/nonexistent:/sbin/nologin\n' > /out/passwd \
 && printf 'confed:x:65532:\n' > /out/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build /out/confed-aggregator /confed-aggregator
# Numeric, so that Kubernetes can check runAsNonRoot without /etc/passwd.
USER 65532:65532
# Participants (attested gRPC) and the plaintext probe listener.
EXPOSE 7444 8081
ENTRYPOINT ["/confed-aggregator"]
