package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"batos/remote"
	"batos/server"
)

// Served as Target.Connect means the server named by the image folder's
// server file, which must exist (`batos attach` without a URL).
const Served = "served"

// dialTimeout bounds reaching a server.
const dialTimeout = 10 * time.Second

// attach reaches t's image over the wire when t names a server, or when a
// server on this machine serves t.Image (its server file names it and it
// answers); ok is false when the image is to be opened in this process.
func attach(t Target) (c *Conn, ok bool, err error) {
	url, token := t.Connect, t.Token
	auto := url == ""
	if auto || url == Served {
		f, err := server.ReadToken(t.Image)
		switch {
		case errors.Is(err, fs.ErrNotExist) && auto:
			return nil, false, nil
		case errors.Is(err, fs.ErrNotExist):
			return nil, true, fmt.Errorf("no server serves %s (no %s there): start `batos serve --image %s` first", t.Image, server.TokenFileName, t.Image)
		case err != nil:
			return nil, true, err
		}
		url = f.Addr
		if token == "" {
			token = f.Token
		}
	} else if token == "" {
		// A URL on this machine: its token is beside the image it serves.
		if f, err := server.ReadToken(t.Image); err == nil && f.Addr == url {
			token = f.Token
		}
	}
	name := t.Name
	if name == "" {
		name = os.Getenv("USER")
	}
	if !validName(name) {
		name = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	img, err := remote.Dial(ctx, url, remote.Options{Token: token, Client: name})
	if err != nil {
		if auto && errors.Is(err, syscall.ECONNREFUSED) {
			// The server file outlived its server (killed): open the
			// image here; its lock says whether anything still has it.
			return nil, false, nil
		}
		return nil, true, err
	}
	return &Conn{Image: img, close: func() error { img.Close(); return nil }}, true, nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Attach reaches t's image through a server: t.Connect, or by default
// the server the image folder's server file names.
func Attach(t Target) (*Conn, error) {
	if t.Connect == "" {
		t.Connect = Served
	}
	c, _, err := attach(t)
	return c, err
}
