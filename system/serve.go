package system

import (
	"context"
	"errors"
	"net"
	"time"

	"batos/api"
	"batos/server"
)

// backend is the System as the server sees it.
type backend struct{ sys *System }

func (b backend) Connect(principal string) (server.Client, error) {
	c, err := b.sys.Connect(principal)
	if err != nil {
		return nil, err // a nil *Client would be a non-nil server.Client
	}
	return c, nil
}

func (b backend) Subscribe(since uint64, buffer int) (<-chan api.Event, func()) {
	return b.sys.Subscribe(since, buffer)
}

// Serve serves the image over WebSocket on l until Close, which stops the
// server before anything else. It returns once the server is accepting
// connections; the server's own failure is logged.
func (sys *System) Serve(l net.Listener, opts server.Options) error {
	if opts.Logger == nil {
		opts.Logger = sys.log
	}
	srv, err := server.New(backend{sys}, opts)
	if err != nil {
		return err
	}
	sys.mu.Lock()
	if sys.closed || sys.server != nil {
		sys.mu.Unlock()
		l.Close()
		if sys.server != nil {
			return errors.New("serve: the image is served already")
		}
		return ErrClosed
	}
	sys.server = srv
	sys.served = make(chan struct{})
	sys.mu.Unlock()
	go func() {
		defer close(sys.served)
		if err := srv.Serve(l); err != nil {
			sys.log.Error("server stopped", "err", err)
		}
	}()
	return nil
}

// shutdownGrace is how long Close lets remote requests finish before it
// cancels them.
const shutdownGrace = 5 * time.Second

// stopServing shuts the server down, if one runs: clients are told why,
// running requests get shutdownGrace to finish.
func (sys *System) stopServing() {
	sys.mu.Lock()
	srv, served := sys.server, sys.served
	sys.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		sys.log.Warn("server shutdown", "err", err)
	}
	<-served
}
