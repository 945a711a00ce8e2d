package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// TokenFileName is the file, in the image folder, that tells local
// clients where the image is served and with which token.
const TokenFileName = "server.json"

// TokenFile is what WriteToken writes and ReadToken reads.
type TokenFile struct {
	Addr  string `json:"addr"`  // the URL to dial: "ws://127.0.0.1:7777/"
	Token string `json:"token"` // the bearer token: 64 hex digits
	PID   int    `json:"pid"`   // the serving process
}

// WriteToken makes a fresh token and writes it with addr and this
// process's id to dir/server.json, readable by its owner only (mode
// 0600), replacing the file atomically. addr is a URL or a host:port,
// which is written as "ws://host:port/".
func WriteToken(dir, addr string) (token string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	token = hex.EncodeToString(raw)
	if !strings.Contains(addr, "://") {
		addr = "ws://" + addr + "/"
	}
	b, err := json.MarshalIndent(TokenFile{Addr: addr, Token: token, PID: os.Getpid()}, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	f, err := os.CreateTemp(dir, ".server-*.json") // mode 0600
	if err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("write token: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return "", fmt.Errorf("write token %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("write token %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write token %s: %w", f.Name(), err)
	}
	path := filepath.Join(dir, TokenFileName)
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("write token %s: %w", path, err)
	}
	return token, nil
}

// ReadToken reads dir/server.json. When there is none (no server, or it
// stopped cleanly) the error wraps fs.ErrNotExist. That a file exists
// does not prove its server still runs: dial it to know.
func ReadToken(dir string) (TokenFile, error) {
	path := filepath.Join(dir, TokenFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return TokenFile{}, fmt.Errorf("read token: %w", err)
	}
	var tf TokenFile
	if err := json.Unmarshal(b, &tf); err != nil {
		return TokenFile{}, fmt.Errorf("read token %s: %w", path, err)
	}
	if tf.Addr == "" || tf.Token == "" {
		return TokenFile{}, fmt.Errorf("read token %s: no addr or no token", path)
	}
	return tf, nil
}

// RemoveToken removes dir/server.json when this process wrote it, so
// that a server stopping never removes the file of another server that
// replaced it. No file is not an error.
func RemoveToken(dir string) error {
	tf, err := ReadToken(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("remove token: %w", err)
	case tf.PID != os.Getpid():
		return nil
	}
	if err := os.Remove(filepath.Join(dir, TokenFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove token: %w", err)
	}
	return nil
}

// Listen listens on addr (host:port; port 0 picks one). A host that is
// not a loopback address — including an empty one, every interface — is
// refused unless public is set: whoever reaches the port and holds the
// token can run code in the image.
func Listen(addr string, public bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if !public && !isLoopback(host) {
		return nil, fmt.Errorf("listen %s: %q is not a loopback address; serving beyond this machine must be asked for explicitly (public)", addr, host)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if tcp, ok := l.Addr().(*net.TCPAddr); ok && !public && !tcp.IP.IsLoopback() {
		l.Close() // "localhost" resolved to something else
		return nil, fmt.Errorf("listen %s: bound %s, not a loopback address", addr, tcp)
	}
	return l, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the address clients dial for a listener's address:
// "ws://127.0.0.1:7777/".
func URL(addr net.Addr) string {
	return "ws://" + addr.String() + "/"
}
