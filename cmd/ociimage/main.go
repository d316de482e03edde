// Command ociimage writes steadywatch's container image as a `docker load`-able
// tarball without a container engine (see package ociimage); `make image`
// runs it on a freshly built static binary.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/steadywatch/steadywatch/internal/ociimage"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if err := build(args, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "ociimage:", err)
		return 1
	}
	return 0
}

func build(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts ociimage.Options
	fs.StringVar(&opts.Binary, "binary", "", "static linux binary to put at "+ociimage.BinaryPath)
	fs.StringVar(&opts.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle to put at "+ociimage.CACertsPath)
	fs.StringVar(&opts.Arch, "arch", "amd64", "GOARCH the binary was built for")
	fs.StringVar(&opts.Version, "version", "", "version stamped into the binary")
	fs.StringVar(&opts.Revision, "revision", "", "VCS revision")
	fs.StringVar(&opts.Source, "source", "https://github.com/steadywatch/steadywatch", "source repository URL")
	fs.StringVar(&opts.Licenses, "licenses", "NOASSERTION", "SPDX licence expression")
	created := fs.String("created", "", "build time, RFC 3339 (e.g. the commit time): also every file's mtime")
	tag := fs.String("tag", "", "image reference to tag the tarball with, e.g. ghcr.io/steadywatch/steadywatch:v1.0.0")
	out := fs.String("o", "bin/steadywatch-image.tar", "output tarball")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *tag == "" {
		return errors.New("-tag: must not be empty")
	}
	t, err := time.Parse(time.RFC3339, *created)
	if err != nil {
		return fmt.Errorf("-created: %w", err)
	}
	opts.Created = t
	img, err := ociimage.Build(opts)
	if err != nil {
		return err
	}
	if err := ociimage.WriteFile(*out, *tag, img); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var layerSize int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return err
		}
		layerSize += n
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s %s, tarball %d bytes, compressed layer %d bytes\n", *out, *tag, digest, fi.Size(), layerSize)
	return nil
}
