package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"batos/api"
)

// Backend is the running image a Server serves.
type Backend interface {
	// Connect opens a client whose transactions and events carry principal
	// (the server passes "remote:NAME"). Closing it cancels its requests still running.
	Connect(principal string) (Client, error)
	// Subscribe delivers the events after seq since (0: from now on), then live ones,
	// on a channel of capacity buffer. When since is older than the backend's replay
	// buffer holds, the first event is an api.EventMissed with Missed set, then live ones.
	// A subscriber that falls buffer events behind gets an api.EventMissed as its last
	// event and its channel is closed; cancel is then a no-op.
	Subscribe(since uint64, buffer int) (events <-chan api.Event, cancel func())
}

// Client is one connected client's view of the image.
type Client interface {
	api.Image
	Close()
}

// Options configures a Server. Only Token is required; zero values take
// the defaults named.
type Options struct {
	// Token is the bearer token every client must present
	// (Authorization: Bearer TOKEN). WriteToken makes one.
	Token string
	// AllowedOrigins lists browser origins ("https://example.org")
	// allowed besides loopback ones; "*" allows any. A request without an
	// Origin header (every non-browser client) is always allowed.
	AllowedOrigins []string
	// MaxMessage bounds one incoming frame in bytes (default 1 MiB); a
	// larger one ends the connection with close code 1009.
	MaxMessage int64
	// Rate and Burst are each connection's token bucket: Rate requests a
	// second on average (default 200), at most Burst at once (default
	// 400). Excess requests get CodeOverloaded. A negative Rate turns the
	// limit off.
	Rate  float64
	Burst int
	// MaxInFlight bounds the requests of one connection running at once
	// (default 64); more get CodeOverloaded.
	MaxInFlight int
	// SendQueue is the number of responses, and separately of events, a
	// connection may have waiting for its socket (default 1024).
	SendQueue int
	// WriteTimeout bounds each socket write (default 10 s): a client that
	// stops reading is disconnected when a write misses it.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings an idle connection
	// (default 30 s); a connection silent for two intervals is closed.
	PingInterval time.Duration
	// Logger receives connection and request logs (default: none).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 20
	}
	if o.Rate == 0 {
		o.Rate = 200
	}
	if o.Burst <= 0 {
		o.Burst = 400
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 1024
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server serves a Backend over WebSocket. Create it with New, run it with
// Serve (or mount it as an http.Handler), stop it with Shutdown.
type Server struct {
	backend   Backend
	opts      Options
	tokenHash [sha256.Size]byte
	log       *slog.Logger
	http      *http.Server
	upgrader  websocket.Upgrader
	frames    *frames

	mu struct {
		sync.Mutex
		closing bool               // Shutdown has begun: no new connection
		conns   map[*conn]struct{} // upgraded connections not yet ended
		anon    int                // the last anon-N name given
	}
	// handlers counts connection handlers between their admission (under
	// mu, refused once closing) and the end of their connection.
	handlers sync.WaitGroup
}

// New returns a Server of backend.
func New(backend Backend, opts Options) (*Server, error) {
	if opts.Token == "" {
		return nil, errors.New("server: a token is required")
	}
	opts.setDefaults()
	s := &Server{backend: backend, opts: opts, tokenHash: sha256.Sum256([]byte(opts.Token)), log: opts.Logger, frames: newFrames()}
	s.mu.conns = map[*conn]struct{}{}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{api.Subprotocol},
		// The origin was checked before the upgrade (originAllowed).
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Serve accepts connections on l until Shutdown; it returns nil after
// Shutdown, else the listener's error. It closes l.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve %s: %w", l.Addr(), err)
}

// Clients counts the connections being served.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.conns)
}

// Shutdown stops accepting connections and closes every connection:
// new requests are answered with kind closed, running ones may finish
// until ctx ends (then they are cancelled), their responses are sent,
// then each client gets a close frame with code 1001 ("server shutting
// down") and its Client is closed. Shutdown returns when every goroutine
// the server started has ended; its error is ctx's when ctx ended first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.mu.closing = true
	conns := make([]*conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	// Stop accepting. A context that is already done makes Shutdown close
	// the listener and return at once, which is all it is needed for:
	// every handler that was admitted is awaited below.
	herr := s.http.Shutdown(ctx)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.shutdown(ctx) })
	}
	wg.Wait()
	s.handlers.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("server shutdown: %w", err)
	}
	if herr != nil {
		return fmt.Errorf("server shutdown: %w", herr)
	}
	return nil
}

// clientName is what ?client= may be.
var clientName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// ServeHTTP checks a connection request and, when it passes, upgrades it
// and serves the connection until it ends. Every refusal is an HTTP error
// with a one-line body, before the upgrade.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		refuse(w, http.StatusNotFound, "not found: the batos protocol is served at /")
		return
	}
	if !s.originAllowed(r.Header.Get("Origin")) {
		refuse(w, http.StatusForbidden, fmt.Sprintf("origin %q not allowed", r.Header.Get("Origin")))
		return
	}
	if status, msg := s.authorize(r.Header.Get("Authorization")); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="batos"`)
		}
		refuse(w, status, msg)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		refuse(w, http.StatusUpgradeRequired, "this is a WebSocket endpoint (subprotocol "+api.Subprotocol+")")
		return
	}
	if offered := websocket.Subprotocols(r); !slices.Contains(offered, api.Subprotocol) {
		msg := "no protocol version offered"
		if len(offered) > 0 {
			msg = "unsupported protocol version " + strings.Join(offered, ", ")
		}
		refuse(w, http.StatusBadRequest, msg+": this server speaks "+api.Subprotocol)
		return
	}
	q := r.URL.Query()
	name := q.Get("client")
	if name != "" && !clientName.MatchString(name) {
		refuse(w, http.StatusBadRequest, fmt.Sprintf("bad client name %q: want 1 to 32 of A-Z a-z 0-9 _ . -", name))
		return
	}
	var since uint64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			refuse(w, http.StatusBadRequest, fmt.Sprintf("bad since %q: want an event sequence number", v))
			return
		}
		since = n
	}

	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		refuse(w, http.StatusServiceUnavailable, "server shutting down")
		return
	}
	if name == "" {
		s.mu.anon++
		name = "anon-" + strconv.Itoa(s.mu.anon)
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()

	client, err := s.backend.Connect("remote:" + name)
	if err != nil {
		refuse(w, http.StatusServiceUnavailable, "image unavailable: "+firstLine(err.Error()))
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil) // on failure it has answered the request
	if err != nil {
		client.Close()
		s.log.Debug("upgrade failed", "client", name, "err", err)
		return
	}
	c := newConn(s, ws, client, name)
	s.mu.Lock()
	s.mu.conns[c] = struct{}{}
	if s.mu.closing {
		// Shutdown began since the admission and did not see this
		// connection: it says goodbye at once, running nothing.
		c.mu.draining = true
		c.byeOnce.Do(func() { close(c.goodbye) })
	}
	s.mu.Unlock()
	c.run(since)
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

// refuse answers a connection request that is not upgraded.
func refuse(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// authorize checks the bearer token; status is 0 when it is right.
// Both tokens are hashed first so that the comparison takes the same time
// whatever the presented token's length.
func (s *Server) authorize(header string) (status int, msg string) {
	if header == "" {
		return http.StatusUnauthorized, "missing token: send Authorization: Bearer TOKEN"
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return http.StatusUnauthorized, "missing token: the Authorization header is not Bearer TOKEN"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) != 1 {
		return http.StatusForbidden, "wrong token"
	}
	return 0, ""
}

// originAllowed allows a request without an Origin (not a browser), a
// loopback origin, and those listed in AllowedOrigins.
func (s *Server) originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
