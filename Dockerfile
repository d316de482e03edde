# steadywatch's image for those with a container engine. `make image` builds
# the same image without one (internal/ociimage): a static binary on an empty
# base, run as 65532, no shell.
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t steadywatch .
FROM golang:1.26 AS build
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build VERSION=${VERSION} REVISION=${REVISION}

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="steadywatch" \
      org.opencontainers.image.description="SLO watcher for chaos experiments on Kubernetes: incidents, MTTD/MTTR/MTBF, alerts and hypothesis verdicts" \
      org.opencontainers.image.source="https://github.com/steadywatch/steadywatch" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="NOASSERTION"
COPY --from=build /src/bin/steadywatch /steadywatch
USER 65532:65532
WORKDIR /var/lib/steadywatch
EXPOSE 9477
ENTRYPOINT ["/steadywatch"]
CMD ["serve", "--listen", ":9477"]
