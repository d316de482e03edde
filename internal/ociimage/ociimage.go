// Package ociimage builds steadywatch's container image without a container
// engine: one layer holding the static binary, CA certificates and a nonroot
// user on an empty base, written as a `docker load`-able tarball.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Paths and identity inside the image. The UID is distroless' nonroot, which
// the Dockerfile and the Kubernetes manifests (runAsUser, fsGroup) also use.
const (
	BinaryPath  = "/steadywatch"
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	DataDir     = "/var/lib/steadywatch"
	User        = "65532:65532"
	// Port is the port the manifests make serve listen on (--listen :9477).
	Port = "9477/tcp"

	nonrootID = 65532
)

// Label keys from the OCI image spec's annotations.
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelSource      = "org.opencontainers.image.source"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
	LabelLicenses    = "org.opencontainers.image.licenses"
)

// Options says what goes into the image. Every field is required.
type Options struct {
	// Binary is the path of a static linux binary for Arch.
	Binary string
	// CACerts is the path of a PEM bundle, copied to [CACertsPath] so that
	// https to Prometheus and Alertmanager verifies.
	CACerts string
	// Arch is the GOARCH the binary was built for (amd64, arm64).
	Arch string
	// Version and Revision are the ones stamped into the binary.
	Version  string
	Revision string
	// Created is the build's timestamp, also every file's mtime: the same
	// inputs give the same image digest.
	Created time.Time
	// Source is the repository URL; Licenses an SPDX expression.
	Source   string
	Licenses string
}

// elfMachines maps the supported GOARCHes to the ELF machine they run on.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// Build returns the image described by opts.
func Build(opts Options) (v1.Image, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	if err := checkStatic(bin, opts.Arch); err != nil {
		return nil, fmt.Errorf("binary %s: %w", opts.Binary, err)
	}
	certs, err := os.ReadFile(opts.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	created := opts.Created.UTC().Truncate(time.Second)
	layerTar, err := layerTar(bin, certs, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.DefaultCompression), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = opts.Arch
	cf.Created = v1.Time{Time: created}
	cf.History = []v1.History{{Created: v1.Time{Time: created}, CreatedBy: "make image", Comment: "steadywatch " + opts.Version}}
	cf.Config = v1.Config{
		Entrypoint:   []string{BinaryPath},
		User:         User,
		WorkingDir:   DataDir,
		ExposedPorts: map[string]struct{}{Port: {}},
		Labels: map[string]string{
			LabelTitle:       "steadywatch",
			LabelDescription: "SLO watcher for chaos experiments on Kubernetes: incidents, MTTD/MTTR/MTBF, alerts and hypothesis verdicts",
			LabelSource:      opts.Source,
			LabelVersion:     opts.Version,
			LabelRevision:    opts.Revision,
			LabelCreated:     created.Format(time.RFC3339),
			LabelLicenses:    opts.Licenses,
		},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return img, nil
}

func (o Options) validate() error {
	for _, f := range []struct{ name, value string }{
		{"binary", o.Binary},
		{"CA certificates", o.CACerts},
		{"arch", o.Arch},
		{"version", o.Version},
		{"revision", o.Revision},
		{"source", o.Source},
		{"licenses", o.Licenses},
	} {
		if f.value == "" {
			return fmt.Errorf("%s: must not be empty", f.name)
		}
	}
	if o.Created.IsZero() {
		return errors.New("created: must be set")
	}
	if _, ok := elfMachines[o.Arch]; !ok {
		return fmt.Errorf("arch: unsupported %q", o.Arch)
	}
	return nil
}

// checkStatic refuses what would not start on an empty base: a file that is
// not a linux ELF executable for arch, or one that needs a dynamic loader
// (built with cgo).
func checkStatic(bin []byte, arch string) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close() //nolint:errcheck // read only
	if want := elfMachines[arch]; f.Machine != want {
		return fmt.Errorf("built for %s, not %s (%s)", f.Machine, arch, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (needs a loader the image does not have): build it with CGO_ENABLED=0")
		}
	}
	return nil
}

// layerTar returns the uncompressed layer. Entries are in a fixed order with
// fixed owners and mtimes, so that it depends on its inputs only.
func layerTar(bin, certs []byte, mtime time.Time) ([]byte, error) {
	const (
		passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:" + DataDir + ":/sbin/nologin\n"
		group = "root:x:0:\nnonroot:x:65532:\n"
	)
	type entry struct {
		name     string
		mode     int64
		uid, gid int
		body     []byte // nil for a directory
	}
	entries := []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: CACertsPath[1:], mode: 0o644, body: certs},
		{name: BinaryPath[1:], mode: 0o755, body: bin},
		// SQLite and Go's os.TempDir want a writable /tmp.
		{name: "tmp/", mode: 0o1777},
		{name: "var/", mode: 0o755},
		{name: "var/lib/", mode: 0o755},
		{name: DataDir[1:] + "/", mode: 0o755, uid: nonrootID, gid: nonrootID},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		if e.body == nil {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes img tagged tag to path as a tarball that `docker load`
// and `podman load` read (and crane, skopeo with docker-archive:).
func WriteFile(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag: %w", err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
