// Package cmdutil holds what several commands share: reaching an image,
// in this process or over the wire, through the clients' contract.
package cmdutil

import (
	"batos/api"
	"batos/forge"
	"batos/forge/slurm"
	"batos/server"
	"batos/system"
)

// Target says which image a command works on and how to reach it.
type Target struct {
	// Image is the image folder.
	Image string
	// Connect is a served image's address (ws://HOST:PORT/); empty: the
	// image in Image, attached to when a server on this machine serves
	// it, else opened in this process.
	Connect string
	// Token authenticates to Connect; empty: read from the image folder's
	// server file when it names the same address.
	Token string
	// Name is the client's name: its principal in process ("user"), and
	// remote:Name over the wire.
	Name string
	// RecordInputs keeps the client's successful inputs in the image's
	// workspace history (in process only; see system.Client.RecordInputs).
	RecordInputs bool
	// Forge runs the image's background work when the image is opened in
	// this process — the Forge's worker and the entropy recorder: commands
	// that live long (the TUI, the REPL) run the jobs the image holds.
	Forge bool
	// Serve serves the image on loopback, as `batos serve` does, while
	// this process has it open (the TUI, the REPL): other processes on
	// this machine — batos eval, batos image history, another TUI —
	// attach to it instead of finding the image in use.
	Serve bool
}

// Conn is an image reached for one command.
type Conn struct {
	api.Image
	close func() error
}

// Close ends the connection, or closes the image this process opened;
// every acknowledged commit is durable either way.
func (c *Conn) Close() error { return c.close() }

// ForgeOptions are the Forge's options in every command that opens an
// image.
func ForgeOptions() forge.Options {
	return forge.Options{NewSlurm: func(s forge.SlurmSettings) (forge.Backend, error) { return slurm.FromSettings(s) }}
}

// Open reaches the target's image.
func Open(t Target) (*Conn, error) {
	if c, ok, err := attach(t); ok || err != nil {
		return c, err
	}
	name := t.Name
	if name == "" {
		name = "user"
	}
	sys, err := system.Open(t.Image, system.Options{Forge: t.Forge, Entropy: t.Forge, Autotelic: t.Forge, ForgeOptions: ForgeOptions()})
	if err != nil {
		return nil, err
	}
	client, err := sys.Connect(name)
	if err != nil {
		sys.Close()
		return nil, err
	}
	if t.RecordInputs {
		client.RecordInputs()
	}
	closeAll := sys.Close
	if t.Serve {
		stop, err := serveLocally(sys, t.Image)
		if err != nil {
			sys.Close()
			return nil, err
		}
		closeAll = func() error {
			stop()
			return sys.Close()
		}
	}
	return &Conn{Image: client, close: closeAll}, nil
}

// serveLocally serves sys on a free loopback port, its address and a
// fresh token in the image folder (server.json, mode 0600), until stop.
func serveLocally(sys *system.System, image string) (stop func(), err error) {
	l, err := server.Listen("127.0.0.1:0", false)
	if err != nil {
		return nil, err
	}
	token, err := server.WriteToken(image, server.URL(l.Addr()))
	if err != nil {
		l.Close()
		return nil, err
	}
	if err := sys.Serve(l, server.Options{Token: token}); err != nil {
		server.RemoveToken(image)
		return nil, err
	}
	return func() { server.RemoveToken(image) }, nil
}
